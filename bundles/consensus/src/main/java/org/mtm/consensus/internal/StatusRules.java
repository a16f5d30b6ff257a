package org.mtm.consensus.internal;

import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;

/**
 * How a node's user-visible status follows from its durable generation state and what it sees now
 * (manual F.31.2.2, DESIGN §3). Pure.
 */
public final class StatusRules {

    private StatusRules() {
    }

    /**
     * @param self         this node's id, 0 before init_cluster
     * @param state        the node's durable generation state
     * @param clique       the largest clique of mutually connected nodes, as this node computes it
     * @param electionRunning true while a generation campaign is under way
     * @param donorKnown   true while this node pulls changes from a donor
     */
    public static NodeStatus status(int self, GenerationState state, NodeSet clique, boolean electionRunning,
                                    boolean donorKnown) {
        Generation gen = state.current();
        if (self == 0 || gen.num() == 0) {
            return NodeStatus.DISABLED;
        }
        if (!gen.isMember(self)) {
            return donorKnown ? NodeStatus.CATCHUP : NodeStatus.DISABLED;
        }
        if (electionRunning || !clique.contains(self) || !clique.containsAll(gen.members())) {
            return NodeStatus.ISOLATED;
        }
        return state.lastOnlineIn() == gen.num() ? NodeStatus.ONLINE : NodeStatus.RECOVERY;
    }

    /**
     * Members of the generation that are online as far as this node can tell: itself if online, and each
     * connected member whose heartbeat says it is online in this same generation.
     */
    public static NodeSet membersOnline(int self, NodeStatus selfStatus, Generation gen, NodeSet connected,
                                        java.util.Map<Integer, PeerBeacon> beacons) {
        NodeSet online = NodeSet.EMPTY;
        for (int id : gen.members().ids()) {
            if (id == self) {
                if (selfStatus == NodeStatus.ONLINE) {
                    online = online.with(id);
                }
            } else if (connected.contains(id)) {
                PeerBeacon b = beacons.get(id);
                if (b != null && b.generationNum() == gen.num() && b.lastOnlineIn() == gen.num()) {
                    online = online.with(id);
                }
            }
        }
        return online;
    }
}
