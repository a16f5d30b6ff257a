package org.mtm.gateway.internal.commit;

import java.util.function.Supplier;

import org.mtm.api.ClusterState;
import org.mtm.api.NodeStatus;

/**
 * Refuses work while the node is not {@code online} in an initialised cluster, as the manual says: every
 * transaction, reads included, gets {@code [multimaster] node is not online: current status is "<status>"},
 * unless the session's application_name is {@code mtm_admin}. Without a ClusterState service, or before
 * {@code init_cluster} (self id 0), everything is allowed.
 */
public final class ClusterAdmission implements Admission {
    private final Supplier<ClusterState> state;

    public ClusterAdmission(Supplier<ClusterState> state) {
        this.state = state;
    }

    @Override
    public ServerError refusal(SessionInfo session) {
        ClusterState cluster = state.get();
        if (cluster == null || cluster.selfId() == 0) {
            return null;
        }
        NodeStatus status = cluster.status();
        if (status == NodeStatus.ONLINE || session.isAdmin()) {
            return null;
        }
        return notOnline(status);
    }

    public static ServerError notOnline(NodeStatus status) {
        return ServerError.error(SqlStates.NODE_NOT_ONLINE,
                "[multimaster] node is not online: current status is \"" + status.sqlName() + "\"",
                "Connect to an online node, or wait until this one is online again; sessions with "
                        + "application_name 'mtm_admin' are allowed for administration.");
    }
}
