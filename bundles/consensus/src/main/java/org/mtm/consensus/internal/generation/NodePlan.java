package org.mtm.consensus.internal.generation;

import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.RecoveryProgress;
import org.mtm.api.ReplicationPlan;
import org.mtm.consensus.internal.GenerationState;

/**
 * What a node is and what its receivers do, from its durable generation state and what it sees now (DESIGN §3,
 * "status"). Pure; the runtime calls it on every tick and on every change.
 */
public final class NodePlan {

    /**
     * @param status    what {@code mtm.status()} shows
     * @param plan      what the applier's receivers do
     * @param recovered the recovery receiver reached the donor's marker of the current generation: the runtime
     *                  persists {@link Adoption#recovered} and logs its own marker
     */
    public record Decision(NodeStatus status, ReplicationPlan plan, boolean recovered) {
    }

    private NodePlan() {
    }

    /**
     * @param self            this node's id, 0 before init_cluster
     * @param s               its durable generation state
     * @param clique          the largest clique as it sees it
     * @param connected       the peers connected both ways (itself may be included)
     * @param electionRunning its campaigner runs an election
     * @param progress        how far its recovery or catch-up receiver has come
     */
    public static Decision decide(int self, GenerationState s, NodeSet clique, NodeSet connected,
                                  boolean electionRunning, RecoveryProgress progress) {
        Generation gen = s.current();
        if (self == 0 || gen.num() == 0) {
            return new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false);
        }
        if (gen.isMember(self) && s.lastOnlineIn() == gen.num()) {
            boolean isolated = electionRunning || !clique.contains(self) || !clique.containsAll(gen.members());
            return new Decision(isolated ? NodeStatus.ISOLATED : NodeStatus.ONLINE, ReplicationPlan.NORMAL, false);
        }
        if (gen.isMember(self)) {
            int donor = source(s.donors().without(self).intersect(connected), progress);
            if (donor == 0) {
                // The manual's "disabled": recovery needed, but no donor to recover from is known yet.
                return new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false);
            }
            boolean recovered = progress.donor() == donor && progress.reached()
                && progress.markerGeneration() >= gen.num() && Adoption.mayGoOnline(self, s);
            return new Decision(NodeStatus.RECOVERY, ReplicationPlan.recovery(donor, gen.num()), recovered);
        }
        // Catch-up only shortens the recovery this node will need once a generation takes it in, so any member's
        // WAL will do when no donor is reachable: all logs are prefixes of each other.
        int source = source(s.donors().without(self).intersect(connected), progress);
        if (source == 0) {
            source = source(gen.members().without(self).intersect(connected), progress);
        }
        if (source == 0) {
            return new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false);
        }
        return new Decision(NodeStatus.CATCHUP, ReplicationPlan.recovery(source, Long.MAX_VALUE), false);
    }

    /** The donor in use while it remains a candidate (a switch restarts the stream), else the lowest id; 0: none. */
    private static int source(NodeSet candidates, RecoveryProgress progress) {
        if (candidates.contains(progress.donor())) {
            return progress.donor();
        }
        return candidates.isEmpty() ? 0 : candidates.ids().get(0);
    }

    /** A catch-up is running and close enough to its donor's end for this node to ask to join a generation. */
    public static boolean caughtUp(RecoveryProgress p, long thresholdBytes) {
        return p.donor() != 0 && !p.reached() && p.lagBytes() >= 0 && p.lagBytes() <= thresholdBytes;
    }
}
