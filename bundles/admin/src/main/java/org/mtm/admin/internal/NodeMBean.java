package org.mtm.admin.internal;

/**
 * JMX view of this node ({@code org.mtm:type=Node}): the columns of {@code mtm.status()} and the role as attributes,
 * the manual's administration functions as operations.
 */
public interface NodeMBean {
    String OBJECT_NAME = "org.mtm:type=Node";

    /** {@code node} or {@code referee}. */
    String getRole();

    String getStatus();

    int getNodeId();

    long getGeneration();

    int[] getGenerationMembers();

    int[] getGenerationMembersOnline();

    int[] getGenerationConfigured();

    /** Nodes connected both ways, this node included (as {@code mtm.status().connected}). */
    int[] getConnectedPeers();

    /**
     * Operation: the rows of {@code mtm.in_doubt} (gid, origin_node, generation, state, prepared, age_ms), oldest
     * first; fails with the reason when this node's PostgreSQL cannot be read.
     */
    javax.management.openmbean.TabularData listInDoubt() throws Exception;

    /**
     * Operation: {@code mtm.check_query(query)} — the query's result compared on every online member at one consistent
     * point: {@code same}, {@code nodes}, {@code differing} (node ids, comma-separated) and {@code first_difference}
     * (empty when same). Admin role (it runs the query as the cluster's user).
     */
    javax.management.openmbean.CompositeData checkQuery(String query) throws Exception;

    /**
     * Operation: {@code mtm.alter_sequences()} — every sequence of every node strided by node id in one distributed
     * transaction; how many sequences it changed. Admin role.
     */
    int alterSequences() throws Exception;

    /**
     * Operation: {@code mtm.drop_node(node)} (manual F.31.4.4) — the cluster switches to a generation without that
     * node; returns the new generation as text. Admin role.
     */
    String dropNode(int node) throws Exception;

    /**
     * Operation: {@code mtm.add_node(conninfo)} (manual F.31.4.3) — the new node's id, configured on every node with its
     * replication slots. Admin role.
     */
    int addNode(String conninfo) throws Exception;

    /** Operation: {@code mtm.join_node(node, backupEndLsn)} (manual F.31.4.3). Admin role. */
    void joinNode(int node, String backupEndLsn) throws Exception;
}
