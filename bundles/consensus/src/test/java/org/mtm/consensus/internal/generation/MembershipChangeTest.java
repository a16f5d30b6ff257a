package org.mtm.consensus.internal.generation;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;

public class MembershipChangeTest {
    private static final Generation FULL = new Generation(3, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3));
    private static final Generation TWO_OF_THREE = new Generation(4, NodeSet.of(1, 2), NodeSet.of(1, 2, 3));

    private static String refused(ThrowingCall call) {
        try {
            call.run();
        } catch (ClusterAdminException e) {
            return e.sqlState() + " " + e.getMessage();
        }
        fail("expected a refusal");
        return null;
    }

    private interface ThrowingCall {
        void run() throws ClusterAdminException;
    }

    @Test
    public void dropLeavesTheOthersAsConfiguredAndMembers() throws Exception {
        assertEquals(new Generation(4, NodeSet.of(1, 2), NodeSet.of(1, 2)),
            MembershipChange.drop(1, FULL, NodeStatus.ONLINE, 3));
    }

    @Test
    public void dropOfADeadNonMember() throws Exception {
        // seed 000's 2+1 switch: node 3 is down, generation {1,2} of {1,2,3}
        assertEquals(new Generation(5, NodeSet.of(1, 2), NodeSet.of(1, 2)),
            MembershipChange.drop(1, TWO_OF_THREE, NodeStatus.ONLINE, 3));
    }

    @Test
    public void dropRefusals() {
        String unknown = refused(() -> MembershipChange.drop(1, FULL, NodeStatus.ONLINE, 7));
        assertTrue(unknown, unknown.startsWith("42704 node 7 is not configured"));
        String offline = refused(() -> MembershipChange.drop(1, FULL, NodeStatus.ISOLATED, 3));
        assertTrue(offline, offline.startsWith("55000 cannot drop node 3 while this node is isolated"));
        Generation two = new Generation(6, NodeSet.of(1, 2), NodeSet.of(1, 2));
        String last = refused(() -> MembershipChange.drop(1, two, NodeStatus.ONLINE, 2));
        assertTrue(last, last.startsWith("55000 dropping node 2 would leave 1 configured node(s)"));
        // 4 configured, 3 members: dropping a member leaves 2 of 3 — fine; with 2 members of 4, dropping one is not
        Generation half = new Generation(7, NodeSet.of(1, 2), NodeSet.of(1, 2, 3, 4));
        String minority = refused(() -> MembershipChange.drop(1, half, NodeStatus.ONLINE, 2));
        assertTrue(minority, minority.startsWith("55000 dropping node 2 would leave the online members {1}"));
    }

    @Test
    public void dropOfAnAbsentNodeRestoresTheMajorityMargin() throws Exception {
        Generation threeOfFour = new Generation(7, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3, 4));
        assertEquals(new Generation(8, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3)),
            MembershipChange.drop(1, threeOfFour, NodeStatus.ONLINE, 4));
    }

    @Test
    public void addGrowsConfiguredNotMembers() throws Exception {
        int id = MembershipChange.newNodeId(FULL, 3);
        assertEquals(4, id);
        assertEquals(new Generation(4, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3, 4)),
            MembershipChange.add(FULL, NodeStatus.ONLINE, id));
    }

    @Test
    public void newIdsAreNotReused() throws Exception {
        Generation afterDrop = new Generation(5, NodeSet.of(1, 2), NodeSet.of(1, 2));
        assertEquals(4, MembershipChange.newNodeId(afterDrop, 3));
        Generation full64 = new Generation(1, NodeSet.of(1, 2), NodeSet.of(1, 2, 64));
        String none = refused(() -> MembershipChange.newNodeId(full64, 64));
        assertTrue(none, none.startsWith("54000 no node id left"));
    }

    @Test
    public void addRefusals() {
        String twice = refused(() -> MembershipChange.add(FULL, NodeStatus.ONLINE, 3));
        assertTrue(twice, twice.startsWith("42710 node 3 is already configured"));
        String offline = refused(() -> MembershipChange.add(FULL, NodeStatus.RECOVERY, 4));
        assertTrue(offline, offline.startsWith("55000 cannot add node 4 while this node is recovery"));
        // 2 members of 3 (a 4th configured node would leave 2 of 4, not a majority): node 3 must be online first
        String minority = refused(() -> MembershipChange.add(TWO_OF_THREE, NodeStatus.ONLINE, 4));
        assertTrue(minority, minority.startsWith("55000 cannot add node 4: node(s) {3} of {1,2,3} are not online members"));
        // an added node not joined yet: dropping another needs 3 votes of {1,2,3,4} and only 1 and 2 would say yes
        String unwinnable = refused(() -> MembershipChange.drop(1,
            new Generation(5, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3, 4)), NodeStatus.ONLINE, 3));
        assertTrue(unwinnable, unwinnable.startsWith("55000 dropping node 3 needs the votes of a majority of the"
            + " configured nodes {1,2,3,4} other than node 3, and only {1,2} are online members: bring {4} online"));
        // an added node not joined yet: a second addition (asked again after a competing one won) waits for its join
        Generation added = new Generation(5, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3, 4));
        String waiting = refused(() -> MembershipChange.add(added, NodeStatus.ONLINE, 5));
        assertTrue(waiting, waiting.startsWith("55000 cannot add node 5: node(s) {4} of {1,2,3,4}"));
    }

    @Test
    public void joinChecks() throws Exception {
        Generation added = MembershipChange.add(FULL, NodeStatus.ONLINE, 4);
        MembershipChange.checkJoin(added, 4);
        String unknown = refused(() -> MembershipChange.checkJoin(added, 5));
        assertTrue(unknown, unknown.startsWith("42704 node 5 is not configured"));
        Generation joined = new Generation(5, NodeSet.of(1, 2, 3, 4), NodeSet.of(1, 2, 3, 4));
        String twice = refused(() -> MembershipChange.checkJoin(joined, 4));
        assertTrue(twice, twice.startsWith("55000 node 4 has already joined"));
    }

    @Test
    public void aNodeCannotDropItself() {
        String self = refused(() -> MembershipChange.drop(3, FULL, NodeStatus.ONLINE, 3));
        assertTrue(self, self.startsWith("55000 node 3 cannot drop itself"));
    }

    @Test
    public void votersAcceptOnlyTheDropOrAdditionOfOneNodeAndNotTheDroppedOne() {
        NodeSet all = NodeSet.of(1, 2, 3);
        assertEquals(null, MembershipChange.refusalOfChange(2, all, NodeSet.of(1, 2)));
        assertTrue(MembershipChange.refusalOfChange(3, all, NodeSet.of(1, 2)).contains("node 3 is the node being dropped"));
        assertTrue(MembershipChange.refusalOfChange(1, all, NodeSet.of(1)).contains("neither the drop nor the addition"));
        // mtm.add_node: one node added is a change a voter accepts; two at once, or one in and one out, are not
        assertEquals(null, MembershipChange.refusalOfChange(1, all, NodeSet.of(1, 2, 3, 4)));
        assertTrue(MembershipChange.refusalOfChange(1, all, NodeSet.of(1, 2, 3, 4, 5)).contains("neither the drop nor"));
        assertTrue(MembershipChange.refusalOfChange(1, all, NodeSet.of(1, 2, 4)).contains("neither the drop nor"));
        assertTrue(MembershipChange.refusalOfChange(1, NodeSet.of(1, 2), NodeSet.of(1)).contains("would leave 1"));
    }

    @Test
    public void aVotedAdditionIsElectedAgainWithoutTheNewNode() {
        // voted yes for {1,2,3} + 4 in generation 6 but still in 5: the election that completes it keeps the members
        org.mtm.consensus.internal.GenerationState s = new org.mtm.consensus.internal.GenerationState(
            new Generation(5, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3)), 6, 5, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3, 4));
        assertEquals(new Generation(6, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3, 4)),
            MembershipChange.completion(1, s, NodeSet.of(1, 2, 3)).orElseThrow());
        // two of the three seen: not a majority of the four
        assertEquals(java.util.Optional.empty(), MembershipChange.completion(1, s, NodeSet.of(1, 2)));
    }

    @Test
    public void aDroppedNodeRecognisesItsGeneration() {
        Generation without3 = new Generation(5, NodeSet.of(1, 2), NodeSet.of(1, 2));
        assertTrue(MembershipChange.droppedFrom(3, without3));
        assertTrue(!MembershipChange.droppedFrom(2, without3));
        assertTrue(!MembershipChange.droppedFrom(3, Generation.NONE));
        assertTrue(MembershipChange.droppedText(3, without3).startsWith("node 3 was dropped from the cluster"));
    }
}
