package org.mtm.consensus.internal.generation;

import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.GenerationState;

/**
 * A node's answer to an election request (DESIGN §3). A yes is a durable promise: {@code lastVote} becomes the
 * requested number, so this node votes at most once per number (two different generations with one number would
 * each need a majority, and majorities intersect) and never goes online again in a generation below it (so the
 * {@code lastOnlineIn} it reports stays the last one it can be online in before the new generation — what makes the
 * donors the candidate picks complete). A change of the configured set is elected in two phases
 * ({@link ElectionRequest}): the first is answered with a promise of the number and the change accepted last, the
 * second accepted if nothing higher was promised since.
 */
public final class Voter {

    private Voter() {
    }

    /**
     * @param self       this node's id
     * @param state      this node's durable generation state
     * @param clique     the largest clique as this node sees it now
     * @param configured the configured nodes as this node knows them
     */
    public static VoteResult answer(int self, GenerationState state, NodeSet clique, NodeSet configured,
                                    ElectionRequest req) {
        return answer(self, state, clique, configured, req, false);
    }

    /**
     * @param referee 2+1 mode: this node's own campaign for a generation of itself alone is voted for (the referee's
     *                grant stands in for the majority); nobody votes for another node's
     */
    public static VoteResult answer(int self, GenerationState state, NodeSet clique, NodeSet configured,
                                    ElectionRequest req, boolean referee) {
        if (req.isPrepare()) {
            return promise(self, state, configured, req);
        }
        String refusal = refusal(self, state, clique, configured, req, referee);
        if (refusal != null) {
            return new VoteResult(answer(self, state, req, false, refusal), state);
        }
        GenerationState voted = req.changesConfigured()
            ? new GenerationState(state.current(), req.num(), state.lastOnlineIn(), state.donors(), req.configured(),
                req.num())
            : new GenerationState(state.current(), req.num(), state.lastOnlineIn(), state.donors(), req.configured(), 0);
        return new VoteResult(answer(self, voted, req, true, ""), voted);
    }

    /**
     * The first phase of a change election (Paxos' prepare): a promise never to vote below {@code req.num()} — the
     * same durable {@code lastVote} a yes sets —, answered with the change this node accepted last and the number it
     * accepted it at, as they were before. Whatever change it is bound to: the candidate proposes the change accepted
     * at the highest number it learns from a majority of the old set, which is the one that may have been won.
     */
    static VoteResult promise(int self, GenerationState state, NodeSet configured, ElectionRequest req) {
        String refusal = promiseRefusal(self, state, configured, req);
        if (refusal != null) {
            return new VoteResult(promise(self, state, req, false, refusal, state), state);
        }
        GenerationState promised = new GenerationState(state.current(), req.num(), state.lastOnlineIn(),
            state.donors(), state.votedConfigured(), state.votedIn());
        return new VoteResult(promise(self, promised, req, true, "", state), promised);
    }

    private static ElectionAnswer promise(int self, GenerationState s, ElectionRequest req, boolean yes,
                                          String refusal, GenerationState before) {
        return new ElectionAnswer(self, req.num(), yes, s.current().num(), s.lastOnlineIn(), s.lastVote(), refusal,
            true, before.votedConfigured(), before.votedIn());
    }

    static String promiseRefusal(int self, GenerationState state, NodeSet configured, ElectionRequest req) {
        long current = state.current().num();
        if (self == 0 || current == 0) {
            return "node " + self + " is not initialised";
        }
        if (!req.fromConfigured().equals(configured)) {
            return "configured nodes differ: request " + req.fromConfigured() + ", voter " + configured;
        }
        if (req.num() <= current) {
            return "voter is already in gen " + current;
        }
        if (req.num() <= state.lastVote()) {
            return "voter already promised gen " + state.lastVote();
        }
        return null;
    }

    private static ElectionAnswer answer(int self, GenerationState s, ElectionRequest req, boolean yes, String refusal) {
        return new ElectionAnswer(self, req.num(), yes, s.current().num(), s.lastOnlineIn(), s.lastVote(), refusal);
    }

    /**
     * The second phase of a change with the number this node promised (or a repeat of its accept of it): the
     * candidate's first phase got a majority of promises for that number, so no other election can be won with it
     * (a voter promises or votes once per number), and this is the only change proposed with it.
     */
    private static boolean acceptsPromised(GenerationState state, ElectionRequest req) {
        if (req.phase() != ElectionRequest.Phase.ACCEPT) {
            return false;
        }
        return state.votedIn() < req.num()
            || (state.votedIn() == req.num() && state.votedConfigured().equals(req.configured()));
    }

    /** Why this node must not vote for {@code req}, or null when it may. */
    static String refusal(int self, GenerationState state, NodeSet clique, NodeSet configured, ElectionRequest req,
                          boolean referee) {
        long current = state.current().num();
        if (self == 0 || current == 0) {
            return "node " + self + " is not initialised";
        }
        if (!req.fromConfigured().equals(configured)) {
            return "configured nodes differ: request " + req.fromConfigured() + ", voter " + configured;
        }
        if (req.changesConfigured() && req.phase() == ElectionRequest.Phase.SINGLE) {
            return "a change of the configured set in one phase comes from a node older than two-phase change"
                + " elections: upgrade node " + req.candidate() + " to change the configured set";
        }
        // After accepting a change of the configured set, only change elections: a majority of the old set accepted it
        // if it was won, so no ordinary election of the old set can be won with a higher number, and every change
        // election after it learns it in its first phase and proposes it again (Paxos: accepted values are re-proposed).
        if (!req.changesConfigured() && state.changeVoted()) {
            return "voter accepted configured nodes " + state.votedConfigured() + " in gen " + state.votedIn()
                + ": only change elections now";
        }
        if (req.changesConfigured()) {
            String change = MembershipChange.refusalOfChange(self, req.fromConfigured(), req.configured());
            if (change != null) {
                return change;
            }
        }
        if (!req.configured().containsAll(req.members())) {
            return "members " + req.members() + " are not all configured " + req.configured();
        }
        if (req.num() <= current) {
            return "voter is already in gen " + current;
        }
        if (req.num() < state.lastVote()
            || (req.num() == state.lastVote() && !acceptsPromised(state, req))) {
            return "voter already voted for gen " + state.lastVote();
        }
        // 2+1: this node's own request for a generation of itself alone; the referee's grant decides it
        if (referee && req.candidate() == self && req.members().equals(NodeSet.of(self))
            && Campaign.aloneWithReferee(self, state, clique, configured)) {
            return null;
        }
        if (!clique.contains(self)) {
            return "voter is not in its own clique " + clique;
        }
        if (!clique.containsAll(req.members())) {
            return "members " + req.members() + " are not all in the voter's clique " + clique;
        }
        // A minority generation could commit what a later majority generation never sees.
        if (!req.members().isMajorityOf(req.configured())) {
            return "members " + req.members() + " are not a majority of " + req.configured();
        }
        return null;
    }
}
