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
     * @param walGone   every donor this node could recover from no longer holds the WAL it needs: it can never
     *                  recover by itself, and the runtime records that durably (the node stays disabled until it is
     *                  dropped and added again)
     */
    public record Decision(NodeStatus status, ReplicationPlan plan, boolean recovered, boolean walGone) {
        public Decision(NodeStatus status, ReplicationPlan plan, boolean recovered) {
            this(status, plan, recovered, false);
        }
    }

    private static final Decision NOTHING = new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false);
    private static final Decision WAL_GONE = new Decision(NodeStatus.DISABLED, ReplicationPlan.NONE, false, true);

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
        return decide(self, s, false, clique, connected, electionRunning, progress);
    }

    /**
     * @param disabled the node recorded that it cannot recover by itself ({@link Decision#walGone}): nothing runs
     *                 until it is dropped and added again
     */
    public static Decision decide(int self, GenerationState s, boolean disabled, NodeSet clique, NodeSet connected,
                                  boolean electionRunning, RecoveryProgress progress) {
        return decide(self, s, disabled, clique, connected, 0, electionRunning, progress);
    }

    /**
     * @param excludedIn the highest generation a connected peer's heartbeat names that leaves this node out ({@link
     *                   org.mtm.consensus.internal.Connectivity#newestGenerationWithoutSelf}); 0: none
     */
    public static Decision decide(int self, GenerationState s, boolean disabled, NodeSet clique, NodeSet connected,
                                  long excludedIn, boolean electionRunning, RecoveryProgress progress) {
        Generation gen = s.current();
        if (self == 0 || gen.num() == 0 || disabled) {
            return NOTHING;
        }
        if (excludedIn > gen.num()) {
            // The others went on without this node (it was stopped, frozen or cut off) and it has not adopted that
            // generation yet: it missed the generation's commits, so it must not serve as online until it has
            // adopted and recovered — a node restarted in its old generation would otherwise answer reads from stale
            // data. (A newer generation that includes this node is a switch it voted for, not a sign of staleness.)
            return NOTHING;
        }
        if (gen.isMember(self) && s.lastOnlineIn() == gen.num()) {
            // a generation of this node alone (2+1, the referee's grant) needs nobody: of two nodes apart, node 2 sees
            // the clique {1} (ties go to the smaller mask), which must not make it isolated
            boolean alone = gen.members().equals(NodeSet.of(self));
            boolean isolated = electionRunning || (!alone && (!clique.contains(self) || !clique.containsAll(gen.members())));
            return new Decision(isolated ? NodeStatus.ISOLATED : NodeStatus.ONLINE, ReplicationPlan.NORMAL, false);
        }
        NodeSet gone = progress.walGone();
        if (gen.isMember(self)) {
            // only a donor has everything the generation's members committed before it
            NodeSet donors = s.donors().without(self);
            if (!donors.isEmpty() && donors.minus(gone).isEmpty()) {
                return WAL_GONE;
            }
            int donor = source(donors.minus(gone).intersect(connected), progress);
            if (donor == 0) {
                // The manual's "disabled": recovery needed, but no donor to recover from is known yet.
                return NOTHING;
            }
            boolean recovered = progress.donor() == donor && progress.reached()
                && progress.markerGeneration() >= gen.num() && Adoption.mayGoOnline(self, s);
            return new Decision(NodeStatus.RECOVERY, ReplicationPlan.recovery(donor, gen.num()), recovered);
        }
        // Catch-up only shortens the recovery this node will need once a generation takes it in, so any member's
        // WAL will do when no donor is reachable: all logs are prefixes of each other.
        NodeSet sources = s.donors().union(gen.members()).without(self);
        if (!sources.isEmpty() && sources.minus(gone).isEmpty()) {
            return WAL_GONE;
        }
        int source = source(s.donors().without(self).minus(gone).intersect(connected), progress);
        if (source == 0) {
            source = source(gen.members().without(self).minus(gone).intersect(connected), progress);
        }
        if (source == 0) {
            return NOTHING;
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
