package org.mtm.consensus.internal.resolver;

import org.mtm.api.NodeSet;

/**
 * One resolver's attempt to decide one in-doubt transaction (DESIGN §3, the original's resolver.c): Paxos in a
 * term above everything seen, over the configured nodes. Pure and single-threaded.
 *
 * <ol>
 * <li>PROMISING: ask every voter to promise {@link #term()}. Any answer that knows the outcome (a node that
 * committed or rolled back its copy, or recorded a decision) decides at once. With promises from a majority,
 * the value is the one accepted in the highest term among them — precommit means commit — or preabort when
 * none accepted anything: nobody can have committed, since the coordinator commits only after a majority
 * accepted its precommit, and every majority meets this one.</li>
 * <li>ACCEPTING: ask every voter to accept that value in {@link #term()}; a majority accepting decides.</li>
 * </ol>
 * A refusal (a higher promise elsewhere) ends the round {@link Phase#BEATEN}: the caller starts a new one above
 * {@link #highestSeen()}. Lost messages are the caller's timer's business (re-send, or a new round).
 */
public final class ResolverRound {

    public enum Phase { PROMISING, ACCEPTING, DECIDED, BEATEN }

    private final NodeSet voters;
    private final Term term;
    private Phase phase = Phase.PROMISING;
    private NodeSet promised = NodeSet.EMPTY;
    private NodeSet accepted = NodeSet.EMPTY;
    private Term bestAccepted = Term.NONE;
    private Proposal bestValue;
    private Proposal value;
    private Outcome outcome;
    private Term highestSeen;

    /**
     * @param voters the configured nodes of the transaction's generation
     * @param term   this round's term, above every term the proposer has seen for the transaction
     */
    public ResolverRound(NodeSet voters, Term term) {
        this.voters = voters;
        this.term = term;
        this.highestSeen = term;
    }

    public Term term() {
        return term;
    }

    public Phase phase() {
        return phase;
    }

    /** The value sent with accept requests (ACCEPTING and after). */
    public Proposal value() {
        return value;
    }

    /** The decided outcome (DECIDED), else null. */
    public Outcome outcome() {
        return outcome;
    }

    /** The highest term any answer mentioned: a new round must go above it. */
    public Term highestSeen() {
        return highestSeen;
    }

    /** Voters whose answer to the current phase is still missing (for re-sending). */
    public NodeSet awaiting() {
        return switch (phase) {
            case PROMISING -> voters.minus(promised);
            case ACCEPTING -> voters.minus(accepted);
            default -> NodeSet.EMPTY;
        };
    }

    /**
     * An answer to the promise request.
     *
     * @param granted   the voter promised this term
     * @param promise   the voter's highest promise (after this request)
     * @param accepted  term of the voter's accepted value ({@link Term#NONE} if none)
     * @param value     the voter's accepted value, or null
     * @param known     the outcome the voter knows for certain, or null
     */
    public Phase onPromise(int voter, boolean granted, Term promise, Term accepted, Proposal value, Outcome known) {
        if (!voters.contains(voter) || phase == Phase.DECIDED) {
            return phase;
        }
        if (known != null) {
            return decide(known);
        }
        if (phase != Phase.PROMISING) {
            return phase;
        }
        see(promise);
        if (!granted) {
            phase = Phase.BEATEN;
            return phase;
        }
        promised = promised.with(voter);
        if (value != null && accepted.isAbove(bestAccepted)) {
            bestAccepted = accepted;
            bestValue = value;
        }
        if (promised.isMajorityOf(voters)) {
            this.value = bestValue != null ? bestValue : Proposal.PREABORT;
            phase = Phase.ACCEPTING;
        }
        return phase;
    }

    /** An answer to the accept request. */
    public Phase onAccepted(int voter, boolean granted, Term promise, Outcome known) {
        if (!voters.contains(voter) || phase == Phase.DECIDED) {
            return phase;
        }
        if (known != null) {
            return decide(known);
        }
        if (phase != Phase.ACCEPTING) {
            return phase;
        }
        see(promise);
        if (!granted) {
            phase = Phase.BEATEN;
            return phase;
        }
        accepted = accepted.with(voter);
        if (accepted.isMajorityOf(voters)) {
            return decide(value.outcome());
        }
        return phase;
    }

    /** Another node announced the decision. */
    public Phase onDecided(Outcome decided) {
        return decide(decided);
    }

    private Phase decide(Outcome o) {
        if (phase == Phase.DECIDED && outcome != o) {
            throw new IllegalStateException("round in " + term + " decided " + outcome + ", now told " + o);
        }
        outcome = o;
        phase = Phase.DECIDED;
        return phase;
    }

    private void see(Term t) {
        if (t != null && t.isAbove(highestSeen)) {
            highestSeen = t;
        }
    }
}
