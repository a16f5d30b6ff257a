package org.mtm.consensus.internal;

import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;

/**
 * What {@code mtm.status()} reports of the other members (the node's own status is {@code generation.NodePlan}'s).
 * Pure.
 */
public final class StatusRules {

    private StatusRules() {
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
