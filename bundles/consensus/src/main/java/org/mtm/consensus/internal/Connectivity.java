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

    /**
     * The connectivity matrix: this node's row from what it hears, peers' rows from their beacons. A node this one
     * does not hear has no row of its own here, but the peers whose beacons list it are connected to it both ways
     * (a beacon carries its sender's {@link #connected()}): its row is made of them. Without it the far end of an edge
     * partition (link 1–3 cut: node 3 hears only node 2) saw no link 1–2, took {2,3} for the largest clique and proposed
     * it again and again, each proposal refused by node 2 and burning a generation number; now it computes the {1,2}
     * every other node computes, and stays out.
     */
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
        Map<Integer, NodeSet> reported = new HashMap<>();
        for (Map.Entry<Integer, NodeSet> row : m.entrySet()) {
            for (int other : row.getValue().ids()) {
                if (!m.containsKey(other) && !hears.contains(other)) {
                    reported.merge(other, NodeSet.of(other, row.getKey()), NodeSet::union);
                }
            }
        }
        m.putAll(reported);
        return m;
    }

    /**
     * The highest generation that the heartbeat of a peer connected both ways names and that leaves this node out,
     * among those that can describe a generation of this cluster (members within {@code configured}); 0 when none.
     * Such a generation was formed without this node, so this node has missed its commits.
     */
    public long newestGenerationWithoutSelf(NodeSet configured) {
        long newest = 0;
        if (self == 0) {
            return newest;
        }
        for (int peer : connected().without(self).ids()) {
            PeerBeacon b = beacons.get(peer);
            if (!b.members().contains(self) && configured.containsAll(b.members())) {
                newest = Math.max(newest, b.generationNum());
            }
        }
        return newest;
    }

    public NodeSet clique(NodeSet configured) {
        return Clique.largest(matrix(), configured);
    }
}
