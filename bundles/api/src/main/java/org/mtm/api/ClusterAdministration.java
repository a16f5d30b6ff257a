package org.mtm.api;

import java.util.List;

/**
 * Cluster-wide administration behind {@code mtm.init_cluster}, {@code mtm.ping} and {@code mtm.make_table_local} as
 * the console's commands and the node MBean's operations run them.
 */
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

    /**
     * {@code mtm.ping()}: this node is online and every member of its generation answers, from its own PostgreSQL, that
     * it is online in the same generation. Returns true; fails naming the first node that does not.
     *
     * @throws ClusterAdminException 55000 a node (this one included) not online or in another generation, 08006 a
     *                               member's PostgreSQL not reachable
     */
    default boolean ping() throws ClusterAdminException {
        throw new ClusterAdminException("55000", "mtm.ping is not available: the admin bundle of this node does not support it");
    }

    /**
     * {@code mtm.make_table_local(relation)} (manual F.31.5.2): the table's changes stop being replicated, on every
     * node; the row of {@code mtm.local_tables} that says so is committed through the cluster in one transaction.
     *
     * @throws ClusterAdminException 42P01 no such table, 57P03 this node not online, 40001 the cluster aborted it
     */
    default void makeTableLocal(String relation) throws ClusterAdminException {
        throw new ClusterAdminException("55000", "mtm.make_table_local is not available: the admin bundle of this node does not"
            + " support it");
    }
}
