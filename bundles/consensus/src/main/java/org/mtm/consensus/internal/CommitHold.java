package org.mtm.consensus.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * This node's side of a cluster-wide commit hold ({@link org.mtm.api.CommitHolds}): while any hold is in force, new
 * commits wait for their admission. Each hold ends when released or at its deadline, so a holder that vanished
 * cannot stop the node's commits. Pure: time comes in as arguments; the futures it returns are completed by the caller
 * outside its lock.
 */
final class CommitHold {
    private final Map<Long, Long> deadlines = new HashMap<>();
    private final List<CompletableFuture<Void>> waiting = new ArrayList<>();

    /** Holds commits until {@link #release} of {@code id} or until {@code deadlineNanos}. */
    synchronized void hold(long id, long deadlineNanos) {
        deadlines.put(id, deadlineNanos);
    }

    /** Whether commits are held at {@code nowNanos} (holds past their deadline end). */
    synchronized boolean held(long nowNanos) {
        deadlines.values().removeIf(d -> d - nowNanos <= 0);
        return !deadlines.isEmpty();
    }

    /** Completed at once when nothing is held; otherwise completed by {@link #release} or {@link #expire}. */
    synchronized CompletableFuture<Void> admission(long nowNanos) {
        if (!held(nowNanos)) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        waiting.add(f);
        return f;
    }

    /** Ends hold {@code id}; returns the admissions to complete now (none while another hold is in force). */
    synchronized List<CompletableFuture<Void>> release(long id, long nowNanos) {
        deadlines.remove(id);
        return expire(nowNanos);
    }

    /** Ends the holds past their deadline; returns the admissions to complete now. */
    synchronized List<CompletableFuture<Void>> expire(long nowNanos) {
        if (held(nowNanos) || waiting.isEmpty()) {
            return List.of();
        }
        List<CompletableFuture<Void>> admitted = List.copyOf(waiting);
        waiting.clear();
        return admitted;
    }

    /** Ends every hold (the coordinator stops); returns the admissions to complete now. */
    synchronized List<CompletableFuture<Void>> releaseAll() {
        deadlines.clear();
        List<CompletableFuture<Void>> admitted = List.copyOf(waiting);
        waiting.clear();
        return admitted;
    }
}
