package org.mtm.api;

/**
 * What this node's receivers must do now (DESIGN §3), decided by consensus from the node's generation state
 * and followed by the applier.
 *
 * <ul>
 * <li>{@link Mode#NONE}: no receiver runs (not initialised, or no donor reachable while one is needed).</li>
 * <li>{@link Mode#NORMAL}: one receiver per configured peer, each applying that peer's own transactions and
 *     voting on them. Only PREPAREs of the node's current generation are applied (see
 *     {@link ClusterState#admitPrepare}).</li>
 * <li>{@link Mode#RECOVERY}: one receiver only, from {@link #donor()}, applying every transaction in the
 *     donor's WAL serially and in its order — the donor's own and those it applied from other origins — without
 *     votes, until it has applied the donor's generation marker ({@link GenerationMarker}) of generation
 *     {@link #untilGeneration()} or higher; then it stops and reports that in {@link Applier#recovery()}.
 *     {@code untilGeneration = Long.MAX_VALUE} (catch-up of a node that is not a member) never stops.</li>
 * </ul>
 */
public record ReplicationPlan(Mode mode, int donor, long untilGeneration) {
    public enum Mode { NONE, NORMAL, RECOVERY }

    public static final ReplicationPlan NONE = new ReplicationPlan(Mode.NONE, 0, 0);
    public static final ReplicationPlan NORMAL = new ReplicationPlan(Mode.NORMAL, 0, 0);

    public static ReplicationPlan recovery(int donor, long untilGeneration) {
        if (donor < 1) {
            throw new IllegalArgumentException("recovery needs a donor node id, got " + donor);
        }
        return new ReplicationPlan(Mode.RECOVERY, donor, untilGeneration);
    }

    @Override
    public String toString() {
        return switch (mode) {
            case NONE -> "no replication";
            case NORMAL -> "normal replication from every peer";
            case RECOVERY -> "recovery from donor " + donor
                + (untilGeneration == Long.MAX_VALUE ? " (catch-up)" : " until its marker of generation " + untilGeneration);
        };
    }
}
