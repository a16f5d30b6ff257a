package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;

import java.util.Map;
import org.junit.Test;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;

public class StatusRulesTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final GenerationState GEN1 = new GenerationState(new Generation(1, ALL, ALL), 1, 1, ALL);

    @Test
    public void notInitialisedIsDisabled() {
        assertEquals(NodeStatus.DISABLED, StatusRules.status(0, GenerationState.NONE, NodeSet.EMPTY, false, false));
    }

    @Test
    public void memberSeeingAllMembersIsOnline() {
        assertEquals(NodeStatus.ONLINE, StatusRules.status(1, GEN1, ALL, false, false));
    }

    @Test
    public void memberMissingAMemberIsIsolated() {
        assertEquals(NodeStatus.ISOLATED, StatusRules.status(1, GEN1, NodeSet.of(1, 2), false, false));
    }

    @Test
    public void electionMakesIsolated() {
        assertEquals(NodeStatus.ISOLATED, StatusRules.status(1, GEN1, ALL, true, false));
    }

    @Test
    public void memberNotYetOnlineInGenerationRecovers() {
        GenerationState s = new GenerationState(new Generation(2, ALL, ALL), 2, 1, NodeSet.of(1, 2));
        assertEquals(NodeStatus.RECOVERY, StatusRules.status(3, s, ALL, false, false));
    }

    @Test
    public void nonMemberIsDisabledOrCatchup() {
        GenerationState s = new GenerationState(new Generation(2, NodeSet.of(1, 2), ALL), 2, 1, NodeSet.of(1, 2));
        assertEquals(NodeStatus.DISABLED, StatusRules.status(3, s, ALL, false, false));
        assertEquals(NodeStatus.CATCHUP, StatusRules.status(3, s, ALL, false, true));
    }

    @Test
    public void membersOnlineCountsPeersOnlineInSameGeneration() {
        Map<Integer, PeerBeacon> beacons = Map.of(
            2, new PeerBeacon(1, ALL, ALL, 1, ALL),
            3, new PeerBeacon(1, ALL, ALL, 0, ALL)); // 3 is not online in gen 1 yet
        assertEquals(NodeSet.of(1, 2), StatusRules.membersOnline(1, NodeStatus.ONLINE, GEN1.current(), ALL, beacons));
        assertEquals(NodeSet.of(2), StatusRules.membersOnline(1, NodeStatus.ISOLATED, GEN1.current(), NodeSet.of(1, 2), beacons));
    }
}
