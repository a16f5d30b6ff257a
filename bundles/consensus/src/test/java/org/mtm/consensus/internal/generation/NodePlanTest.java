package org.mtm.consensus.internal.generation;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.RecoveryProgress;
import org.mtm.api.ReplicationPlan;
import org.mtm.consensus.internal.GenerationState;
import org.mtm.consensus.internal.generation.NodePlan.Decision;

public class NodePlanTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final Generation GEN_5 = new Generation(5, NodeSet.of(1, 2, 3), ALL);
    private static final Generation GEN_6 = new Generation(6, NodeSet.of(1, 2), ALL);
    private static final RecoveryProgress NONE = RecoveryProgress.NONE;

    private static Decision decide(int self, GenerationState s, NodeSet clique, NodeSet connected, boolean election,
                                   RecoveryProgress p) {
        return NodePlan.decide(self, s, clique, connected, election, p);
    }

    @Test
    public void notInitialised() {
        assertEquals(new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false),
            decide(0, GenerationState.NONE, ALL, ALL, false, NONE));
        assertEquals(new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false),
            decide(1, GenerationState.NONE, ALL, ALL, false, NONE));
    }

    @Test
    public void onlineMember() {
        GenerationState s = new GenerationState(GEN_5, 5, 5, ALL);
        assertEquals(new Decision(NodeStatus.ONLINE, ReplicationPlan.NORMAL, false), decide(1, s, ALL, ALL, false, NONE));
    }

    @Test
    public void onlineMemberIsIsolatedDuringAnElectionOrWithoutAllMembers() {
        GenerationState s = new GenerationState(GEN_5, 5, 5, ALL);
        Decision isolated = new Decision(NodeStatus.ISOLATED, ReplicationPlan.NORMAL, false);
        assertEquals(isolated, decide(1, s, ALL, ALL, true, NONE));
        assertEquals(isolated, decide(1, s, NodeSet.of(1, 2), NodeSet.of(1, 2), false, NONE));
        assertEquals(isolated, decide(1, s, NodeSet.of(2, 3), NodeSet.of(1, 2), false, NONE));
    }

    @Test
    public void recoveringMemberTakesTheLowestConnectedDonor() {
        GenerationState s = new GenerationState(GEN_6, 6, 4, NodeSet.of(1, 2));
        Decision d = decide(2, s, ALL, NodeSet.of(1, 2, 3), false, NONE);
        assertEquals(new Decision(NodeStatus.RECOVERY, ReplicationPlan.recovery(1, 6), false), d);
    }

    @Test
    public void recoveringMemberKeepsItsDonorWhileConnected() {
        GenerationState s = new GenerationState(new Generation(6, ALL, ALL), 6, 4, NodeSet.of(1, 3));
        RecoveryProgress from3 = new RecoveryProgress(3, 0, false, 100);
        assertEquals(ReplicationPlan.recovery(3, 6), decide(2, s, ALL, ALL, false, from3).plan());
        assertEquals(ReplicationPlan.recovery(1, 6), decide(2, s, ALL, NodeSet.of(1, 2), false, from3).plan());
    }

    @Test
    public void recoveringMemberWithoutAConnectedDonorIsDisabled() {
        GenerationState s = new GenerationState(GEN_6, 6, 4, NodeSet.of(1));
        assertEquals(new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false),
            decide(2, s, NodeSet.of(2, 3), NodeSet.of(2, 3), false, NONE));
    }

    @Test
    public void recoveredOnTheDonorsMarkerOfTheCurrentGeneration() {
        GenerationState s = new GenerationState(GEN_6, 6, 4, NodeSet.of(1));
        assertTrue(decide(2, s, ALL, ALL, false, new RecoveryProgress(1, 6, true, 0)).recovered());
        assertFalse("an older marker", decide(2, s, ALL, ALL, false, new RecoveryProgress(1, 5, true, 0)).recovered());
        assertFalse("not reached", decide(2, s, ALL, ALL, false, new RecoveryProgress(1, 6, false, 0)).recovered());
    }

    @Test
    public void neverRecoveredBelowItsLastVote() {
        GenerationState votedFor7 = new GenerationState(GEN_6, 7, 4, NodeSet.of(1));
        Decision d = decide(2, votedFor7, ALL, ALL, false, new RecoveryProgress(1, 6, true, 0));
        assertEquals(NodeStatus.RECOVERY, d.status());
        assertFalse(d.recovered());
    }

    @Test
    public void nonMemberCatchesUpFromADonorElseAMember() {
        GenerationState s = new GenerationState(GEN_6, 6, 4, NodeSet.of(1));
        assertEquals(new Decision(NodeStatus.CATCHUP, ReplicationPlan.recovery(1, Long.MAX_VALUE), false),
            decide(3, s, ALL, ALL, false, NONE));
        assertEquals(new Decision(NodeStatus.CATCHUP, ReplicationPlan.recovery(2, Long.MAX_VALUE), false),
            decide(3, s, NodeSet.of(2, 3), NodeSet.of(2, 3), false, NONE));
        assertEquals(new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false),
            decide(3, s, NodeSet.of(3), NodeSet.of(3), false, NONE));
    }

    private static RecoveryProgress walGoneAt(int... donors) {
        return RecoveryProgress.NONE.withWalGone(NodeSet.of(donors));
    }

    @Test
    public void recoveringMemberTriesAnotherDonorWhenOneLostItsWal() {
        GenerationState s = new GenerationState(new Generation(6, ALL, ALL), 6, 4, NodeSet.of(1, 3));
        assertEquals(new Decision(NodeStatus.RECOVERY, ReplicationPlan.recovery(3, 6), false),
            decide(2, s, ALL, ALL, false, walGoneAt(1)));
        RecoveryProgress from1 = new RecoveryProgress(1, 0, false, 100, NodeSet.of(1));
        assertEquals("not even the donor in use", ReplicationPlan.recovery(3, 6), decide(2, s, ALL, ALL, false, from1).plan());
    }

    @Test
    public void recoveringMemberWhoseEveryDonorLostItsWalIsDisabledForGood() {
        GenerationState s = new GenerationState(new Generation(6, ALL, ALL), 6, 4, NodeSet.of(1, 3));
        assertEquals(new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false, true),
            decide(2, s, ALL, ALL, false, walGoneAt(1, 3)));
        // a donor that is only unreachable may still have it: wait for it, not disabled for good
        assertEquals(new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false, false),
            decide(2, s, NodeSet.of(1, 2), NodeSet.of(1, 2), false, walGoneAt(1)));
        // a member that is not a donor may lack what the donors have: never a donor
        GenerationState oneDonor = new GenerationState(new Generation(6, ALL, ALL), 6, 4, NodeSet.of(1));
        assertTrue(decide(2, oneDonor, ALL, ALL, false, walGoneAt(1)).walGone());
    }

    @Test
    public void nonMemberCatchesUpFromAnyMemberThatStillHasItsWal() {
        GenerationState s = new GenerationState(GEN_6, 6, 4, NodeSet.of(1));
        assertEquals(new Decision(NodeStatus.CATCHUP, ReplicationPlan.recovery(2, Long.MAX_VALUE), false),
            decide(3, s, ALL, ALL, false, walGoneAt(1)));
        assertEquals(new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false, true),
            decide(3, s, ALL, ALL, false, walGoneAt(1, 2)));
        assertFalse("node 2 unreachable, not known to lack it", decide(3, s, NodeSet.of(1, 3), NodeSet.of(1, 3), false,
            walGoneAt(1)).walGone());
    }

    @Test
    public void aNodeRecordedDisabledRunsNothing() {
        GenerationState member = new GenerationState(GEN_5, 5, 5, ALL);
        Decision nothing = new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false);
        assertEquals("not even online in its generation", nothing,
            NodePlan.decide(1, member, true, ALL, ALL, false, NONE));
        assertEquals(nothing, NodePlan.decide(3, new GenerationState(GEN_6, 6, 4, NodeSet.of(1)), true, ALL, ALL, false, NONE));
    }

    @Test
    public void aMemberRestartedInAGenerationTheOthersLeftIsNotOnline() {
        // node 3 restarts in generation 5, where it was online; 1 and 2 went on in generation 6 = {1,2} without it
        GenerationState stale = new GenerationState(GEN_5, 5, 5, ALL);
        Decision nothing = new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false);
        assertEquals("no reads from stale data before it adopted 6", nothing,
            NodePlan.decide(3, stale, false, ALL, ALL, 6, false, NONE));
        assertEquals("the same generation seen: online", new Decision(NodeStatus.ONLINE, ReplicationPlan.NORMAL, false),
            NodePlan.decide(3, stale, false, ALL, ALL, 5, false, NONE));
        assertEquals("nodes 1 and 2 see node 3's older beacon: unaffected",
            new Decision(NodeStatus.ONLINE, ReplicationPlan.NORMAL, false),
            NodePlan.decide(1, new GenerationState(GEN_6, 6, 6, NodeSet.of(1, 2)), false, ALL, ALL, 0, false, NONE));
    }

    @Test
    public void caughtUp() {
        assertTrue(NodePlan.caughtUp(new RecoveryProgress(1, 0, false, 10), 10));
        assertTrue(NodePlan.caughtUp(new RecoveryProgress(1, 0, false, 0), 10));
        assertFalse("too far behind", NodePlan.caughtUp(new RecoveryProgress(1, 0, false, 11), 10));
        assertFalse("lag unknown", NodePlan.caughtUp(new RecoveryProgress(1, 0, false, -1), 10));
        assertFalse("no catch-up running", NodePlan.caughtUp(RecoveryProgress.NONE, 10));
    }
}
