package org.mtm.api;

/**
 * How far the receiver of a {@link ReplicationPlan.Mode#RECOVERY} plan has come.
 *
 * @param donor            the donor it streams from (0: no recovery running)
 * @param markerGeneration the highest generation marker of the donor it has applied since this recovery
 *                         started (0: none yet)
 * @param reached          true once it applied the marker the plan waits for and stopped
 * @param lagBytes         how far the applied position is behind the donor's current WAL end, in bytes (-1 unknown)
 */
public record RecoveryProgress(int donor, long markerGeneration, boolean reached, long lagBytes) {
    public static final RecoveryProgress NONE = new RecoveryProgress(0, 0, false, -1);
}
