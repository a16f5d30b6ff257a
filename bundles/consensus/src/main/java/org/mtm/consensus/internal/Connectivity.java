package org.mtm.consensus.internal;

import java.util.HashMap;
import java.util.Map;
import org.mtm.api.NodeSet;

/**
 * Who is connected to whom, from this node's point of view: a link counts only when both ends hear
 * each other (DESIGN §3). Pure: built from the peers the transport hears and their last beacons.
 */
public record Connectivity(int self, NodeSet hears, Map<Integer, PeerBeacon> beacons) {

    public Connectivity {
        beacons = Map.copyOf(beacons);
    }

    /** Peers connected both ways, plus this node itself (as {@code mtm.status().connected} prints it). */
    public NodeSet connected() {
        NodeSet result = self == 0 ? NodeSet.EMPTY : NodeSet.of(self);
        for (int peer : hears.ids()) {
            PeerBeacon b = beacons.get(peer);
            if (b != null && b.connected().contains(self)) {
                result = result.with(peer);
            }
        }
        return result;
    }

    /** The connectivity matrix: this node's row from what it hears, peers' rows from their beacons. */
    public Map<Integer, NodeSet> matrix() {
        Map<Integer, NodeSet> m = new HashMap<>();
        if (self != 0) {
            m.put(self, hears.with(self));
        }
        for (int peer : hears.ids()) {
            PeerBeacon b = beacons.get(peer);
            if (b != null) {
                m.put(peer, b.connected());
            }
        }
        return m;
    }

    public NodeSet clique(NodeSet configured) {
        return Clique.largest(matrix(), configured);
    }
}
