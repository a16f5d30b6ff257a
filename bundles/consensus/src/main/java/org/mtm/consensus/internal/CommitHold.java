package org.mtm.consensus.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * This node's side of a cluster-wide commit hold ({@link org.mtm.api.CommitHolds}): while any hold is in force, new
 * commits wait for their admission. Each hold ends when released or at its deadline, so a holder that vanished
 * cannot stop the node's commits; a hold for a planned generation switch ({@link #holdUntilAbove}) ends too once this
 * node is in a generation above the one it was taken in. Pure: time and the node's generation come in as arguments;
 * the futures it returns are completed by the caller outside its lock.
 */
final class CommitHold {
    /** A generation no switch leaves behind: the holds bound to a generation stay in force. */
    static final long UNKNOWN_GENERATION = Long.MIN_VALUE;

    private final Map<Long, Long> deadlines = new HashMap<>();
    /** Holds that end once the node's generation is above this one, by id. */
    private final Map<Long, Long> untilAbove = new HashMap<>();
    private final List<CompletableFuture<Void>> waiting = new ArrayList<>();

    /** Holds commits until {@link #release} of {@code id} or until {@code deadlineNanos}. */
    synchronized void hold(long id, long deadlineNanos) {
        deadlines.put(id, deadlineNanos);
    }

    /**
     * Holds commits until {@link #release} of {@code id}, {@code deadlineNanos}, or until the node is in a generation
     * above {@code generation} (a planned switch: what begins after it is stamped with the new generation).
     */
    synchronized void holdUntilAbove(long id, long deadlineNanos, long generation) {
        deadlines.put(id, deadlineNanos);
        untilAbove.put(id, generation);
    }

    /** Whether commits are held at {@code nowNanos}, generation unknown (holds bound to a generation stay). */
    synchronized boolean held(long nowNanos) {
        return held(nowNanos, UNKNOWN_GENERATION);
    }

    /** Whether commits are held at {@code nowNanos} in {@code generation} (the holds that ended are forgotten). */
    synchronized boolean held(long nowNanos, long generation) {
        deadlines.keySet().removeIf(id -> deadlines.get(id) - nowNanos <= 0
            || untilAbove.containsKey(id) && generation != UNKNOWN_GENERATION && generation > untilAbove.get(id));
        untilAbove.keySet().retainAll(deadlines.keySet());
        return !deadlines.isEmpty();
    }

    /** Completed at once when nothing is held; otherwise completed by {@link #release} or {@link #expire}. */
    synchronized CompletableFuture<Void> admission(long nowNanos) {
        return admission(nowNanos, UNKNOWN_GENERATION);
    }

    synchronized CompletableFuture<Void> admission(long nowNanos, long generation) {
        if (!held(nowNanos, generation)) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        waiting.add(f);
        return f;
    }

    /** Ends hold {@code id}; returns the admissions to complete now (none while another hold is in force). */
    synchronized List<CompletableFuture<Void>> release(long id, long nowNanos) {
        deadlines.remove(id);
        untilAbove.remove(id);
        return expire(nowNanos);
    }

    /** Ends the holds past their deadline; returns the admissions to complete now. */
    synchronized List<CompletableFuture<Void>> expire(long nowNanos) {
        return expire(nowNanos, UNKNOWN_GENERATION);
    }

    /** Ends the holds past their deadline or their generation; returns the admissions to complete now. */
    synchronized List<CompletableFuture<Void>> expire(long nowNanos, long generation) {
        if (held(nowNanos, generation) || waiting.isEmpty()) {
            return List.of();
        }
        List<CompletableFuture<Void>> admitted = List.copyOf(waiting);
        waiting.clear();
        return admitted;
    }

    /** Ends every hold (the coordinator stops); returns the admissions to complete now. */
    synchronized List<CompletableFuture<Void>> releaseAll() {
        deadlines.clear();
        untilAbove.clear();
        List<CompletableFuture<Void>> admitted = List.copyOf(waiting);
        waiting.clear();
        return admitted;
    }
}
