package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.VoteTally.Phase;
import org.mtm.consensus.internal.resolver.Outcome;

public class VoteTallyTest {
    private static final NodeSet ALL3 = NodeSet.of(1, 2, 3);

    private static VoteTally allPrepared(NodeSet members, NodeSet configured) {
        VoteTally t = new VoteTally(1, members, configured);
        t.localPrepared();
        for (int n : members.without(1).ids()) {
            t.votePrepared(n);
        }
        assertEquals(Phase.PRECOMMIT, t.phase());
        return t;
    }

    @Test
    public void commitsOnceAMajorityOfConfiguredNodesAcceptedThePrecommit() {
        VoteTally t = new VoteTally(1, ALL3, ALL3);
        assertEquals(Phase.VOTING, t.votePrepared(2));
        assertEquals(Phase.VOTING, t.votePrepared(3));
        assertEquals("votes before the local prepare wait for it", Phase.PRECOMMIT, t.localPrepared());
        assertEquals(ALL3, t.precommitVoters());
        assertEquals("the coordinator's own acceptance is one vote, not a majority", Phase.PRECOMMIT, t.precommitted(1));
        assertEquals(Phase.DECIDED, t.precommitted(3));
        assertEquals(Decision.COMMIT, t.decision().orElseThrow());
    }

    @Test
    public void theCoordinatorCountsOnlyOnceItsOwnAcceptorAccepted() {
        VoteTally t = allPrepared(ALL3, ALL3);
        assertEquals(Phase.PRECOMMIT, t.precommitted(2));
        assertEquals(Phase.DECIDED, t.precommitted(1));
    }

    @Test
    public void fiveNodesNeedThreeAcceptances() {
        NodeSet all5 = NodeSet.range(5);
        VoteTally t = allPrepared(all5, all5);
        assertEquals(Phase.PRECOMMIT, t.precommitted(1));
        assertEquals(Phase.PRECOMMIT, t.precommitted(2));
        assertEquals(Phase.DECIDED, t.precommitted(4));
    }

    @Test
    public void twoMemberGenerationOfThreeConfiguredNeedsThePeer() {
        VoteTally t = allPrepared(NodeSet.of(1, 2), ALL3);
        t.precommitted(1);
        assertEquals(Phase.DECIDED, t.precommitted(2));
    }

    @Test
    public void refereeGenerationSkipsPrecommit() {
        VoteTally t = new VoteTally(1, NodeSet.of(1), NodeSet.of(1, 2));
        assertEquals(Phase.DECIDED, t.localPrepared());
        assertTrue(t.decision().orElseThrow().commit());
    }

    @Test
    public void noVoteAbortsWithPeersError() {
        VoteTally t = new VoteTally(1, ALL3, ALL3);
        t.localPrepared();
        t.votePrepared(2);
        t.voteAborted(3, "40P01", "deadlock detected");
        Decision d = t.decision().orElseThrow();
        assertFalse(d.commit());
        assertEquals("40P01", d.sqlState());
        assertEquals("deadlock detected", d.message());
    }

    @Test
    public void lostMemberWhileVotingAborts() {
        VoteTally t = new VoteTally(1, ALL3, ALL3);
        t.localPrepared();
        t.votePrepared(2);
        assertEquals(Phase.DECIDED, t.memberLost(3, "disconnected"));
        assertFalse(t.decision().orElseThrow().commit());
    }

    /** The rule: after the precommit was asked for, a lost member never turns into an abort. */
    @Test
    public void lostMemberAfterThePrecommitRequestNeverAborts() {
        VoteTally t = allPrepared(ALL3, ALL3);
        assertEquals("1 and 3 can still make the majority", Phase.PRECOMMIT, t.memberLost(2, "disconnected"));
        t.precommitted(1);
        assertEquals(Phase.DECIDED, t.precommitted(3));
        assertTrue(t.decision().orElseThrow().commit());

        VoteTally u = allPrepared(ALL3, ALL3);
        u.memberLost(2, "disconnected");
        assertEquals("no majority can accept any more: in doubt, not aborted", Phase.IN_DOUBT, u.memberLost(3, "disconnected"));
        assertTrue(u.decision().isEmpty());
        assertEquals(Phase.DECIDED, u.resolved(Outcome.COMMITTED));
        assertTrue(u.decision().orElseThrow().commit());
    }

    @Test
    public void refusalsThatLeaveNoMajorityMakeItInDoubt() {
        VoteTally t = allPrepared(ALL3, ALL3);
        assertEquals(Phase.PRECOMMIT, t.precommitRefused(2, null));
        assertEquals(Phase.IN_DOUBT, t.precommitRefused(1, null));
        assertEquals(Phase.DECIDED, t.resolved(Outcome.ABORTED));
        Decision d = t.decision().orElseThrow();
        assertFalse(d.commit());
        assertEquals("40001", d.sqlState());
    }

    @Test
    public void aRefusalThatKnowsTheOutcomeDecides() {
        VoteTally t = allPrepared(ALL3, ALL3);
        assertEquals(Phase.DECIDED, t.precommitRefused(3, Outcome.ABORTED));
        assertFalse(t.decision().orElseThrow().commit());
    }

    @Test
    public void givingUpAbortsWhileVotingAndLeavesItInDoubtAfter() {
        VoteTally voting = new VoteTally(1, ALL3, ALL3);
        assertEquals(Phase.DECIDED, voting.giveUp("57014", "timeout"));
        assertEquals("57014", voting.decision().orElseThrow().sqlState());
        VoteTally precommit = allPrepared(ALL3, ALL3);
        assertEquals(Phase.IN_DOUBT, precommit.giveUp("57014", "timeout"));
    }

    @Test
    public void nothingChangesAfterTheDecision() {
        VoteTally t = allPrepared(ALL3, ALL3);
        t.precommitted(2);
        t.precommitted(1);
        t.memberLost(3, "disconnected");
        t.voteAborted(2, "40001", "late");
        t.resolved(Outcome.ABORTED);
        assertTrue(t.decision().orElseThrow().commit());
    }

    @Test
    public void votesFromNonMembersAreIgnored() {
        VoteTally t = new VoteTally(1, NodeSet.of(1, 2), ALL3);
        t.localPrepared();
        t.voteAborted(3, "40001", "not a member");
        assertEquals(Phase.VOTING, t.phase());
    }
}
