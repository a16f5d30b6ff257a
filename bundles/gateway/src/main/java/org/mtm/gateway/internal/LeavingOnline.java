package org.mtm.gateway.internal;

import org.mtm.api.ClusterState;
import org.mtm.api.NodeStatus;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SqlStates;

/**
 * For {@code break_connection} (manual F.31.5.1): tells, from successive looks at the node's {@link ClusterState},
 * when the node left {@code online} — it was online at the previous look and is known not to be now. A node whose
 * state is unknown (no ClusterState service, not loaded) or not initialised (self id 0) has no status to leave:
 * such a look neither breaks connections nor counts as online. No I/O; callers look from one thread at a time.
 */
final class LeavingOnline {
    /** What the previous look saw; null when the status was unknown. */
    private NodeStatus seen;

    /** The status the node is in now when it was online at the previous look and is not now; else null. */
    synchronized NodeStatus look(ClusterState state) {
        NodeStatus before = seen;
        seen = state == null || !state.loaded() || state.selfId() == 0 ? null : state.status();
        return before == NodeStatus.ONLINE && seen != null && seen != NodeStatus.ONLINE ? seen : null;
    }

    /** What the last look saw (null: unknown). */
    synchronized NodeStatus seen() {
        return seen;
    }

    /**
     * What a client session gets when {@code break_connection} ends it: FATAL 57P01, the code PostgreSQL uses when
     * it terminates a backend by command or at shutdown (pools and drivers reconnect, elsewhere if they can).
     */
    static ServerError breakConnection(int selfId, NodeStatus status) {
        return ServerError.fatal(SqlStates.ADMIN_SHUTDOWN, "[multimaster] terminating connection because node " + selfId
                        + " left the cluster: current status is \"" + status.sqlName() + "\" (break_connection = true)",
                "Reconnect to an online node.");
    }
}
