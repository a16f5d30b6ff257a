package org.mtm.api;

/**
 * The answer to {@link ClusterState#admitPrepare(long)}: whether a PREPARE of a transaction stamped with a
 * generation may run now. While an {@link Verdict#APPLY} admission is open, this node's generation cannot
 * change: the PREPARE must run and the admission be closed right after (a switch waits for it).
 */
public interface PrepareAdmission extends AutoCloseable {
    enum Verdict {
        /** Same generation as this node's: prepare it (and close this admission right after). */
        APPLY,
        /** An older generation: refuse it (vote it down), the switch that ended it excludes it. */
        REFUSE,
        /** A newer generation this node has not adopted yet: apply nothing, retry later. */
        WAIT
    }

    Verdict verdict();

    /** The generation this node is in while the admission is open. */
    long generation();

    @Override
    void close();

    /** An admission that holds nothing (no cluster state: nothing is refused for its generation). */
    static PrepareAdmission unchecked(Verdict verdict, long generation) {
        return new PrepareAdmission() {
            @Override
            public Verdict verdict() {
                return verdict;
            }

            @Override
            public long generation() {
                return generation;
            }

            @Override
            public void close() {
            }
        };
    }
}
