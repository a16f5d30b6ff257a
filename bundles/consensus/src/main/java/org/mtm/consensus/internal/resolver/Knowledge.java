package org.mtm.consensus.internal.resolver;

/**
 * What a node can say of a transaction in answer to a resolver: its durable acceptor state, and what its own
 * PostgreSQL shows of its copy (prepared here, committed here, rolled back here, or nothing).
 */
public record Knowledge(AcceptorState state, LocalCopy copy) {

    /** The state of this node's copy of a distributed transaction, as its PostgreSQL shows it. */
    public enum LocalCopy {
        /** Prepared and not finished. */
        PREPARED,
        /** Committed here: only ever after a commit decision. */
        COMMITTED,
        /** Rolled back here after an abort decision (the coordinator's own transaction: its xid aborted). */
        ABORTED,
        /** No copy, or none this node can say anything about (not received yet, or long forgotten). */
        NONE
    }

    /** The outcome this node knows for certain, or null. */
    public Outcome known() {
        if (state.decided()) {
            return state.outcome();
        }
        return switch (copy) {
            case COMMITTED -> Outcome.COMMITTED;
            case ABORTED -> Outcome.ABORTED;
            default -> null;
        };
    }
}
