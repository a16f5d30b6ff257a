package org.mtm.api;

import java.util.List;

/** Cluster-wide administration behind {@code mtm.init_cluster} and the console's {@code mtm:init-cluster}. */
public interface ClusterAdministration {

    /**
     * Initialises the cluster: node ids 1..N in the order given (this node first), configuration and
     * generation 1 stored on every node. Fails, changing nothing, when a node is unreachable, has no
     * running mtm node beside it, or already belongs to another cluster.
     *
     * @return the configuration stored on this node
     */
    ClusterConfig initCluster(String myConninfo, List<String> peerConninfos) throws ClusterAdminException;

    /**
     * {@code mtm.add_node(connstr)} (manual F.31.4.3): the new node's id, its row in every node's catalog and its
     * replication slot on every node (so every write after a base backup taken from now on reaches it), then the
     * generation with it configured (not a member). Every configured node must be online.
     *
     * @return the new node's id
     */
    default int addNode(String conninfo) throws ClusterAdminException {
        throw new ClusterAdminException("55000", "mtm.add_node is not available on this node");
    }

    /**
     * {@code mtm.join_node(node_id, backup_end_lsn)}: the added node, started from a base backup of an online node
     * whose WAL ends at {@code backupEndLsn}, takes its identity and catches up from that node exactly from there.
     */
    default void joinNode(int node, String backupEndLsn) throws ClusterAdminException {
        throw new ClusterAdminException("55000", "mtm.join_node is not available on this node");
    }
}
