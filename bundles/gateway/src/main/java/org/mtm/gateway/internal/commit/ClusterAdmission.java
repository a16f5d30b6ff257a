package org.mtm.gateway.internal.commit;

import java.util.function.Supplier;

import org.mtm.api.ClusterState;
import org.mtm.api.NodeStatus;

/**
 * Refuses work while the node is not {@code online} in an initialised cluster, as the manual says: every
 * transaction, reads included, gets {@code [multimaster] node is not online: current status is "<status>"},
 * unless the session's application_name is {@code mtm_admin}. A node that does not know its cluster yet — no
 * ClusterState service (consensus bundle starting, stopping or being updated) or its state not loaded (just
 * restarted) — refuses too: it cannot tell whether it is initialised, and work admitted then could bypass the
 * cluster's commit. Only a loaded state with self id 0 (before {@code init_cluster}) allows everything.
 */
public final class ClusterAdmission implements Admission {
    private final Supplier<ClusterState> state;

    public ClusterAdmission(Supplier<ClusterState> state) {
        this.state = state;
    }

    @Override
    public ServerError refusal(SessionInfo session) {
        if (session.isAdmin()) {
            return null;
        }
        ClusterState cluster = state.get();
        if (cluster == null) {
            return NO_CLUSTER_STATE;
        }
        if (!cluster.loaded()) {
            return STARTING;
        }
        if (cluster.selfId() == 0) {
            // a node made from a base backup waits for mtm.join_node: its catalog reads as "no cluster" meanwhile
            return cluster.disabledBecause().map(ClusterAdmission::waitingToJoin).orElse(null);
        }
        NodeStatus status = cluster.status();
        if (status == NodeStatus.ONLINE) {
            return null;
        }
        return cluster.disabledBecause().map(ClusterAdmission::disabledForGood).orElseGet(() -> notOnline(status));
    }

    private static final String ADMIN_HINT = "sessions with application_name 'mtm_admin' are allowed for administration.";

    /** The node's ClusterState service is not running. */
    public static final ServerError NO_CLUSTER_STATE = ServerError.error(SqlStates.NODE_NOT_ONLINE,
            "[multimaster] node is not ready: its cluster state service is not running (the consensus bundle is "
                    + "starting, stopping or being updated)",
            "Retry in a moment or connect to another node; " + ADMIN_HINT);

    /** The node's ClusterState service has not read the node's configuration and generation yet. */
    public static final ServerError STARTING = ServerError.error(SqlStates.NODE_NOT_ONLINE,
            "[multimaster] node is starting: its cluster state is not loaded yet",
            "Retry in a moment or connect to another node; if this lasts, check that the node's PostgreSQL "
                    + "accepts connections and the node's log; " + ADMIN_HINT);

    /** The node cannot recover by itself ({@link ClusterState#disabledBecause}): the hint says what to do. */
    public static ServerError disabledForGood(String why) {
        return ServerError.error(SqlStates.NODE_NOT_ONLINE,
                "[multimaster] node is not online: current status is \"disabled\"",
                "This node cannot recover by itself: " + why + ". Connect to an online node meanwhile; " + ADMIN_HINT);
    }

    /** A node made from a base backup that has not joined yet (mtm.join_node): nothing may be written here. */
    public static ServerError waitingToJoin(String why) {
        return ServerError.error(SqlStates.NODE_NOT_ONLINE,
                "[multimaster] node is not online: current status is \"disabled\"",
                why + ". Connect to an online node meanwhile; " + ADMIN_HINT);
    }

    public static ServerError notOnline(NodeStatus status) {
        return ServerError.error(SqlStates.NODE_NOT_ONLINE,
                "[multimaster] node is not online: current status is \"" + status.sqlName() + "\"",
                "Connect to an online node, or wait until this one is online again; " + ADMIN_HINT);
    }
}
