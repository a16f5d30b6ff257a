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

    /**
     * What {@code mtm:status} and the status page say of a catch-up or recovery under way, e.g. {@code catching up
     * from node 1: 1.5 MB behind its WAL end}; empty when none runs.
     */
    public java.util.Optional<String> describe(NodeStatus status) {
        if (donor == 0) {
            return java.util.Optional.empty();
        }
        String behind = lagBytes < 0 ? "how far behind not known yet" : bytes(lagBytes) + " behind its WAL end";
        String what = reached ? "recovered from node " + donor + " up to its generation marker"
            : status == NodeStatus.RECOVERY ? "recovering from node " + donor + " up to its generation marker: " + behind
            : "catching up from node " + donor + ": " + behind;
        return java.util.Optional.of(walGone.isEmpty() ? what : what + " (the WAL is gone at node(s) " + walGone + ")");
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " bytes";
        }
        double v = n;
        String[] units = {"kB", "MB", "GB", "TB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
