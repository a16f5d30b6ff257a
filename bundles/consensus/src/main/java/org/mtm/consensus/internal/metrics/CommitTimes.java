package org.mtm.consensus.internal.metrics;

/**
 * When one transaction passed each step of the 3-phase commit (System.nanoTime), marked by the coordinator: begun
 * (gid stamped), prepared here (the gateway's PREPARE TRANSACTION done), every member voted, decided (after the
 * precommit round when there was one), acknowledged (COMMIT PREPARED here and the peers' acknowledgements). A step
 * marked twice keeps its first time. Guarded by the coordinator's lock of the transaction.
 */
public final class CommitTimes {
    private final long begun;
    private long prepared;
    private long voted;
    private long decided;
    private long acknowledged;

    public CommitTimes(long begunNanos) {
        this.begun = begunNanos;
    }

    public void prepared(long nanos) {
        prepared = prepared == 0 ? nanos : prepared;
    }

    public void voted(long nanos) {
        voted = voted == 0 ? nanos : voted;
    }

    public void decided(long nanos) {
        decided = decided == 0 ? nanos : decided;
    }

    public void acknowledged(long nanos) {
        acknowledged = acknowledged == 0 ? nanos : acknowledged;
    }

    /** Local PREPARE TRANSACTION: from the gid to the gateway's report; -1 if not passed. */
    public long prepareNanos() {
        return between(begun, prepared);
    }

    /** Waiting for every member's vote. */
    public long votesNanos() {
        return between(prepared, voted);
    }

    /** The precommit round (-1 when the decision needed none: a generation of one node). */
    public long precommitNanos() {
        return decided == voted ? -1 : between(voted, decided);
    }

    /** From the decision to COMMIT PREPARED here and the peers' acknowledgements. */
    public long commitNanos() {
        return between(decided, acknowledged);
    }

    /** From the gid to the acknowledgement. */
    public long totalNanos() {
        return between(begun, acknowledged);
    }

    private static long between(long from, long to) {
        return from == 0 || to == 0 ? -1 : Math.max(0, to - from);
    }
}
