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

    /** Operation: {@code mtm.status()} — the manual's columns (my_node_id, status, connected, gen_num, gen_members, …). */
    javax.management.openmbean.CompositeData status() throws Exception;

    /** Operation: {@code mtm.nodes()} — a row per configured node with the manual's columns, indexed by id. */
    javax.management.openmbean.TabularData nodes() throws Exception;

    /**
     * Operation: {@code mtm.ping()} — true when this node and every member of its generation are online in that same
     * generation; fails naming the first node that is not (or does not answer).
     */
    boolean ping() throws Exception;

    /**
     * Operation: {@code mtm.make_table_local(relation)} — the table's changes stop being replicated, on every node (the
     * change is committed through the cluster). Admin role.
     */
    void makeTableLocal(String relation) throws Exception;

    /**
     * Operation: {@code mtm.get_snapshots()} — a snapshot on every online member at one consistent point, kept until
     * {@link #freeSnapshots()} (or until the admin bundle stops); returns the snapshot ids by node,
     * {@code 1:<id>,2:<id>,…}. Named {@code take…}: a {@code get…} without arguments would be a JMX attribute, read by
     * any browsing client. Admin role.
     */
    String takeSnapshots() throws Exception;

    /** Operation: {@code mtm.free_snapshots()} — ends the snapshots {@link #takeSnapshots()} kept; whether there were any. Admin role. */
    boolean freeSnapshots() throws Exception;
}
