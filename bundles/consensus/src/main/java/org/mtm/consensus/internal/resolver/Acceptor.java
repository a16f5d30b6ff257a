package org.mtm.consensus.internal.resolver;

/**
 * The acceptor's rules of the resolver's Paxos, one transaction at a time (DESIGN §3). Pure: the caller reads the
 * durable state, applies a rule, writes the new state durably, and only then answers.
 *
 * <p>Every node — the transaction's coordinator included — is an acceptor. The coordinator's precommit round is
 * an accept request in term {1,0}; a resolver first asks for a promise in a higher term. Once an outcome is
 * known here nothing changes any more: the answer carries the outcome instead.
 */
public final class Acceptor {

    private Acceptor() {
    }

    /** The state after a request and whether the request was granted. */
    public record Step(AcceptorState next, boolean granted) {
    }

    /** The acceptor's new state and its reply (null for a DECIDED, which is not answered). */
    public record Answer(AcceptorState next, ResolverMessage reply) {
    }

    /**
     * Handles a request addressed to this node's acceptor, given what it knows before ({@code before}: its durable
     * state and its local copy). A request about a transaction whose outcome is known here is answered with the
     * outcome, which settles the question for the asker.
     */
    public static Answer answer(ResolverMessage request, Knowledge before) {
        AcceptorState s = before.state();
        Outcome known = before.known();
        if (known != null && !s.decided()) {
            s = decide(s, known); // a finished local copy is as good as a recorded decision
        }
        return switch (request.kind()) {
            case PROPOSE -> {
                Step st = promise(s, request.term());
                yield new Answer(st.next(), ResolverMessage.promise(request.gid(), request.term(), st.granted(),
                    new Knowledge(st.next(), before.copy())));
            }
            case ACCEPT -> {
                Step st = accept(s, request.term(), request.value());
                yield new Answer(st.next(), ResolverMessage.accepted(request.gid(), request.term(), st.granted(),
                    new Knowledge(st.next(), before.copy())));
            }
            case DECIDED -> new Answer(decide(s, request.known()), null);
            default -> throw new IllegalArgumentException("not a request for an acceptor: " + request.kind());
        };
    }

    /**
     * Phase 1: promise never to accept below {@code term}; granted unless a higher term was promised (the same
     * term again is a re-sent request of the same resolver).
     */
    public static Step promise(AcceptorState s, Term term) {
        if (s.decided() || term.isBelow(s.promised())) {
            return new Step(s, false);
        }
        return new Step(new AcceptorState(term, s.accepted(), s.value(), null), true);
    }

    /** Phase 2: accept {@code value} in {@code term} unless a higher term was promised. */
    public static Step accept(AcceptorState s, Term term, Proposal value) {
        if (s.decided() || term.isBelow(s.promised())) {
            return new Step(s, false);
        }
        return new Step(new AcceptorState(term, term, value, null), true);
    }

    /** The coordinator's precommit: accept commit in term {1,0}. */
    public static Step precommit(AcceptorState s) {
        return accept(s, Term.COORDINATOR, Proposal.PRECOMMIT);
    }

    /** The outcome became known (a decision, or the local copy was finished); final. */
    public static AcceptorState decide(AcceptorState s, Outcome outcome) {
        if (s.decided() && s.outcome() != outcome) {
            throw new IllegalStateException("outcome " + s.outcome() + " already known, now told " + outcome);
        }
        return new AcceptorState(s.promised(), s.accepted(), s.value(), outcome);
    }
}
