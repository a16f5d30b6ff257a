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
    public void beforeInitNothingIsConnected() {
        Connectivity c = new Connectivity(0, NodeSet.EMPTY, Map.of());
        assertEquals(NodeSet.EMPTY, c.connected());
    }
}
