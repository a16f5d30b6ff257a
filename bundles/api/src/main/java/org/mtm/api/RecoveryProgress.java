package org.mtm.api;

/**
 * How far the receiver of a {@link ReplicationPlan.Mode#RECOVERY} plan has come.
 *
 * @param donor            the donor it streams from (0: no recovery running)
 * @param markerGeneration the highest generation marker of the donor it has applied since this recovery
 *                         started (0: none yet)
 * @param reached          true once it applied the marker the plan waits for and stopped
 * @param lagBytes         how far the applied position is behind the donor's current WAL end, in bytes (-1 unknown)
 * @param walGone          the donors found, since the node started, to no longer hold the WAL this node needs (its
 *                         slot there was invalidated or dropped, or the segment removed): never a donor again
 */
public record RecoveryProgress(int donor, long markerGeneration, boolean reached, long lagBytes, NodeSet walGone) {
    public static final RecoveryProgress NONE = new RecoveryProgress(0, 0, false, -1);

    public RecoveryProgress {
        walGone = walGone == null ? NodeSet.EMPTY : walGone;
    }

    /** No donor found without the WAL. */
    public RecoveryProgress(int donor, long markerGeneration, boolean reached, long lagBytes) {
        this(donor, markerGeneration, reached, lagBytes, NodeSet.EMPTY);
    }

    /** The same progress, with {@code gone} as the donors without the WAL. */
    public RecoveryProgress withWalGone(NodeSet gone) {
        return new RecoveryProgress(donor, markerGeneration, reached, lagBytes, gone);
    }
}
