package org.mtm.consensus.internal.resolver;

/**
 * What one node keeps durably about one distributed transaction ({@code mtm.transactions}, DESIGN §3): the
 * highest term it promised, the term and value it last accepted, and the outcome once known here.
 *
 * @param promised no proposal below this term is accepted any more
 * @param accepted term of {@code value}, {@link Term#NONE} when nothing was accepted
 * @param value    the accepted value, null when nothing was accepted
 * @param outcome  the decided outcome, null while unknown
 */
public record AcceptorState(Term promised, Term accepted, Proposal value, Outcome outcome) {
    public static final AcceptorState FRESH = new AcceptorState(Term.NONE, Term.NONE, null, null);

    public boolean decided() {
        return outcome != null;
    }

    /** The status word of {@code mtm.transactions}: in, pc, pa, cm, ab. */
    public String status() {
        if (outcome != null) {
            return outcome == Outcome.COMMITTED ? "cm" : "ab";
        }
        return value == null ? "in" : value.status();
    }

    /** This state as its row reads back: a decided one keeps no accepted value. */
    public AcceptorState asStored() {
        return of(status(), promised, accepted);
    }

    /** Reads the columns of {@code mtm.transactions} back. */
    public static AcceptorState of(String status, Term promised, Term accepted) {
        return switch (status) {
            case "in" -> new AcceptorState(promised, Term.NONE, null, null);
            case "pc" -> new AcceptorState(promised, accepted, Proposal.PRECOMMIT, null);
            case "pa" -> new AcceptorState(promised, accepted, Proposal.PREABORT, null);
            case "cm" -> new AcceptorState(promised, accepted, null, Outcome.COMMITTED);
            case "ab" -> new AcceptorState(promised, accepted, null, Outcome.ABORTED);
            default -> throw new IllegalArgumentException("unknown transaction status '" + status + "'");
        };
    }
}
