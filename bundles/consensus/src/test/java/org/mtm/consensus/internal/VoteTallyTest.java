package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.VoteTally.Phase;

public class VoteTallyTest {
    private static final NodeSet ALL3 = NodeSet.of(1, 2, 3);

    @Test
    public void commitsAfterAllVotesAndPrecommitMajority() {
        VoteTally t = new VoteTally(1, ALL3, ALL3);
        assertEquals(Phase.VOTING, t.votePrepared(2));
        assertEquals(Phase.VOTING, t.votePrepared(3));
        assertEquals("votes before the local prepare wait for it", Phase.PRECOMMIT, t.localPrepared());
        assertEquals(Phase.DECIDED, t.precommitted(3));
        assertEquals(Decision.COMMIT, t.decision().orElseThrow());
    }

    @Test
    public void fiveNodesNeedTwoPrecommitAcks() {
        NodeSet all5 = NodeSet.range(5);
        VoteTally t = new VoteTally(1, all5, all5);
        t.localPrepared();
        for (int n = 2; n <= 5; n++) {
            t.votePrepared(n);
        }
        assertEquals(Phase.PRECOMMIT, t.precommitted(2));
        assertEquals(Phase.DECIDED, t.precommitted(4));
    }

    @Test
    public void twoMemberGenerationOfThreeConfiguredNeedsThePeer() {
        VoteTally t = new VoteTally(1, NodeSet.of(1, 2), ALL3);
        t.localPrepared();
        assertEquals(Phase.PRECOMMIT, t.votePrepared(2));
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
    public void lostMemberBeforeCommitPointAborts() {
        VoteTally t = new VoteTally(1, ALL3, ALL3);
        t.localPrepared();
        t.votePrepared(2);
        t.votePrepared(3);
        assertEquals(Phase.DECIDED, t.memberLost(2, "disconnected"));
        assertFalse(t.decision().orElseThrow().commit());
    }

    @Test
    public void nothingChangesAfterTheDecision() {
        VoteTally t = new VoteTally(1, ALL3, ALL3);
        t.localPrepared();
        t.votePrepared(2);
        t.votePrepared(3);
        t.precommitted(2);
        t.memberLost(3, "disconnected");
        t.voteAborted(2, "40001", "late");
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
