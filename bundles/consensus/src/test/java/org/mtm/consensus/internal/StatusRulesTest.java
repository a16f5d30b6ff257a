package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;

import java.util.Map;
import org.junit.Test;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;

/** The node's own status is NodePlan's (NodePlanTest); this is what it reports of the other members. */

public class StatusRulesTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final GenerationState GEN1 = new GenerationState(new Generation(1, ALL, ALL), 1, 1, ALL);

    @Test
    public void membersOnlineCountsPeersOnlineInSameGeneration() {
        Map<Integer, PeerBeacon> beacons = Map.of(
            2, new PeerBeacon(1, ALL, ALL, 1, ALL),
            3, new PeerBeacon(1, ALL, ALL, 0, ALL)); // 3 is not online in gen 1 yet
        assertEquals(NodeSet.of(1, 2), StatusRules.membersOnline(1, NodeStatus.ONLINE, GEN1.current(), ALL, beacons));
        assertEquals(NodeSet.of(2), StatusRules.membersOnline(1, NodeStatus.ISOLATED, GEN1.current(), NodeSet.of(1, 2), beacons));
    }
}
