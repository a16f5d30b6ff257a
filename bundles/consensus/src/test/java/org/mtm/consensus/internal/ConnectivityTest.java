package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;

import java.util.Map;
import org.junit.Test;
import org.mtm.api.NodeSet;

public class ConnectivityTest {
    private static PeerBeacon hearing(NodeSet set) {
        return new PeerBeacon(1, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3), 1, set);
    }

    @Test
    public void connectedNeedsBothDirections() {
        Connectivity c = new Connectivity(1, NodeSet.of(2, 3),
            Map.of(2, hearing(NodeSet.of(1, 2, 3)), 3, hearing(NodeSet.of(2, 3))));
        assertEquals(NodeSet.of(1, 2), c.connected());
        assertEquals(NodeSet.of(1, 2), c.clique(NodeSet.of(1, 2, 3)));
    }

    /**
     * Edge partition, link 1–3 cut, seen from node 3: it hears node 2 only, whose beacon lists 1, 2 and 3. Node 3 must
     * pick the clique nodes 1 and 2 pick, {1,2}, and stay out, instead of proposing {2,3} over and over.
     */
    @Test
    public void farEndOfAnEdgePartitionPicksTheCliqueTheOthersPick() {
        NodeSet all = NodeSet.of(1, 2, 3);
        Connectivity fromNode3 = new Connectivity(3, NodeSet.of(2), Map.of(2, hearing(all)));
        assertEquals(NodeSet.of(2, 3), fromNode3.connected());
        assertEquals(NodeSet.of(1, 2), fromNode3.clique(all));
        Connectivity fromNode1 = new Connectivity(1, NodeSet.of(2), Map.of(2, hearing(all)));
        assertEquals(NodeSet.of(1, 2), fromNode1.clique(all));
        Connectivity fromNode2 = new Connectivity(2, NodeSet.of(1, 3),
            Map.of(1, hearing(NodeSet.of(1, 2)), 3, hearing(NodeSet.of(2, 3))));
        assertEquals(NodeSet.of(1, 2), fromNode2.clique(all));
    }

    @Test
    public void aNodeNobodyHearsStaysOut() {
        NodeSet all = NodeSet.of(1, 2, 3);
        Connectivity c = new Connectivity(1, NodeSet.of(2), Map.of(2, hearing(NodeSet.of(1, 2))));
        assertEquals(NodeSet.of(1, 2), c.clique(all));
        assertEquals(NodeSet.of(1), new Connectivity(1, NodeSet.EMPTY, Map.of()).clique(all));
    }

    @Test
    public void peerWithoutBeaconIsNotConnected() {
        Connectivity c = new Connectivity(1, NodeSet.of(2), Map.of());
        assertEquals(NodeSet.of(1), c.connected());
    }

    @Test
    public void fullMesh() {
        Connectivity c = new Connectivity(2, NodeSet.of(1, 3),
            Map.of(1, hearing(NodeSet.of(1, 2, 3)), 3, hearing(NodeSet.of(1, 2, 3))));
        assertEquals(NodeSet.of(1, 2, 3), c.connected());
        assertEquals(NodeSet.of(1, 2, 3), c.clique(NodeSet.of(1, 2, 3)));
    }

    @Test
    public void newestGenerationWithoutSelfCountsConnectedPeersOnly() {
        NodeSet all = NodeSet.of(1, 2, 3);
        PeerBeacon gen7Without3 = new PeerBeacon(7, NodeSet.of(1, 2), NodeSet.of(1, 2), 7, all);
        PeerBeacon gen8With3 = new PeerBeacon(8, all, NodeSet.of(1, 2), 7, all);
        assertEquals(7, new Connectivity(3, NodeSet.of(1, 2), Map.of(1, gen7Without3, 2, gen7Without3))
            .newestGenerationWithoutSelf(all));
        assertEquals("a generation that includes this node is a switch it voted for", 7,
            new Connectivity(3, NodeSet.of(1, 2), Map.of(1, gen7Without3, 2, gen8With3)).newestGenerationWithoutSelf(all));
        assertEquals("a peer this node does not hear is not counted", 0,
            new Connectivity(3, NodeSet.of(2), Map.of(1, gen7Without3, 2, hearing(all))).newestGenerationWithoutSelf(all));
        assertEquals("members outside the configured set describe no generation of this cluster", 0,
            new Connectivity(3, NodeSet.of(1, 2), Map.of(1, gen7Without3, 2, gen7Without3))
                .newestGenerationWithoutSelf(NodeSet.of(2, 3)));
    }

    @Test
    public void beforeInitNothingIsConnected() {
        Connectivity c = new Connectivity(0, NodeSet.EMPTY, Map.of());
        assertEquals(NodeSet.EMPTY, c.connected());
    }
}
