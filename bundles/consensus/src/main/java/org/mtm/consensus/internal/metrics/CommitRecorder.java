package org.mtm.consensus.internal.metrics;

/**
 * What the commit coordinator tells of each transaction it coordinates, once per outcome: the one place its metrics
 * come from ({@link CommitMetrics}), so the commit path itself carries no metric calls.
 */
public interface CommitRecorder {

    /** Decided to commit. */
    void committed();

    /** Refused before PREPARE or aborted by the cluster, with the SQLSTATE its client gets. */
    void aborted(String sqlState);

    /** Its client is told 08007: the resolver decides it. */
    void outcomeUnknown();

    /** Committed here and acknowledged by the peers (or no longer waited for): how long each phase took. */
    void acknowledged(CommitTimes times);

    CommitRecorder NONE = new CommitRecorder() {
        @Override
        public void committed() {
        }

        @Override
        public void aborted(String sqlState) {
        }

        @Override
        public void outcomeUnknown() {
        }

        @Override
        public void acknowledged(CommitTimes times) {
        }
    };
}
