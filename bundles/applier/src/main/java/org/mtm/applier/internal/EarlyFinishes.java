package org.mtm.applier.internal;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who runs COMMIT PREPARED of a peer's transaction on this node: the early committer, when the coordinator's
 * COMMIT decision arrives over the transport ({@link EarlyCommitter}), or the origin's stream, at its {@code K}.
 * Whichever claims a gid first runs it; the other does nothing for it. So the commit costs one round trip here, never
 * an error ("no such prepared transaction" would be logged by the server on every commit), and the stream's
 * {@code K} waits for an early commit still running, so that nothing later in the stream is applied before it (the
 * ordering rule of DESIGN §2).
 *
 * <p>Claims that find no partner (a decision that reached a node whose stream had finished the gid already, a
 * {@code K} whose decision never comes: an older coordinator, a crash) are forgotten after {@link #KEEP_NANOS}.
 * Pure (no I/O; the caller passes the clock); thread-safe.
 */
final class EarlyFinishes {
    /** How long a claim waits for its partner before it is forgotten. */
    static final long KEEP_NANOS = 60_000_000_000L;
    /** Claims between sweeps of the forgotten ones. */
    static final int SWEEP_EVERY = 4096;

    /** An early commit's result: true when it committed the prepared copy. */
    private record Claim(CompletableFuture<Boolean> early, long at) {
        boolean byStream() {
            return early == null;
        }
    }

    private final Map<String, Claim> claims = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger sinceSweep = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * The coordinator decided to commit {@code gid}: the future the early committer completes (true: it committed the
     * copy, false: it did not), or null when the stream has finished it or is finishing it (nothing to do early).
     */
    CompletableFuture<Boolean> claimEarly(String gid, long now) {
        sweep(now);
        CompletableFuture<Boolean> mine = new CompletableFuture<>();
        Claim before = claims.putIfAbsent(gid, new Claim(mine, now));
        if (before == null) {
            return mine;
        }
        if (before.byStream()) {
            claims.remove(gid, before); // both have come: nothing more will ask about it
        }
        return null; // a second decision for the same gid (re-sent): the first one runs it
    }

    /**
     * The stream reached the {@code K} of {@code gid}: null when the stream must run COMMIT PREPARED itself (nobody
     * claimed it early, and now nobody will), else the early committer's result, which the stream waits for.
     */
    CompletableFuture<Boolean> claimStream(String gid, long now) {
        sweep(now);
        Claim before = claims.putIfAbsent(gid, new Claim(null, now));
        if (before == null) {
            return null;
        }
        claims.remove(gid, before);
        return before.byStream() ? null : before.early();
    }

    /** Claims held now (tests). */
    int size() {
        return claims.size();
    }

    private void sweep(long now) {
        if (sinceSweep.incrementAndGet() < SWEEP_EVERY) {
            return;
        }
        sinceSweep.set(0);
        forgetOlderThan(now - KEEP_NANOS);
    }

    /** Forgets claims made before {@code before} whose partner never came (their early commit, if any, has ended). */
    void forgetOlderThan(long before) {
        for (Iterator<Claim> it = claims.values().iterator(); it.hasNext(); ) {
            Claim c = it.next();
            if (c.at() - before < 0 && (c.byStream() || c.early().isDone())) {
                it.remove();
            }
        }
    }
}
