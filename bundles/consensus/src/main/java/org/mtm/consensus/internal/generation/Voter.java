package org.mtm.consensus.internal.generation;

import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.GenerationState;

/**
 * A node's answer to an election request (DESIGN §3). A yes is a durable promise: {@code lastVote} becomes the
 * requested number, so this node votes at most once per number (two different generations with one number would
 * each need a majority, and majorities intersect) and never goes online again in a generation below it (so the
 * {@code lastOnlineIn} it reports stays the last one it can be online in before the new generation — what makes the
 * donors the candidate picks complete).
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
        String refusal = refusal(self, state, clique, configured, req, referee);
        if (refusal != null) {
            return new VoteResult(answer(self, state, req, false, refusal), state);
        }
        GenerationState voted = new GenerationState(state.current(), req.num(), state.lastOnlineIn(), state.donors(),
            req.configured());
        return new VoteResult(answer(self, voted, req, true, ""), voted);
    }

    private static ElectionAnswer answer(int self, GenerationState s, ElectionRequest req, boolean yes, String refusal) {
        return new ElectionAnswer(self, req.num(), yes, s.current().num(), s.lastOnlineIn(), s.lastVote(), refusal);
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
        // After a yes to a change of the configured set, only that set: a majority of the old set voted for it if it
        // was won, so no election of the old set, nor another change of it, can be won with a higher number.
        if (!req.configured().equals(state.votedConfigured())
            && (!req.changesConfigured() || state.changeVoted())) {
            return "voter voted for configured nodes " + state.votedConfigured() + " in gen " + state.lastVote()
                + ": only elections of that set now";
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
        if (req.num() <= state.lastVote()) {
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
