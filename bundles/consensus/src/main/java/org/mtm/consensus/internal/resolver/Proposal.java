package org.mtm.consensus.internal.resolver;

/**
 * The value of a resolver round: precommit ({@code pc}: the transaction will commit) or preabort ({@code pa}).
 * The coordinator's precommit round proposes {@link #PRECOMMIT} in term {1,0}.
 */
public enum Proposal {
    PRECOMMIT("pc", Outcome.COMMITTED),
    PREABORT("pa", Outcome.ABORTED);

    private final String status;
    private final Outcome outcome;

    Proposal(String status, Outcome outcome) {
        this.status = status;
        this.outcome = outcome;
    }

    /** The status word in {@code mtm.transactions}. */
    public String status() {
        return status;
    }

    /** The outcome a majority accepting this value decides. */
    public Outcome outcome() {
        return outcome;
    }
}
