package org.mtm.admin.internal;

import javax.management.NotCompliantMBeanException;
import javax.management.StandardMBean;
import javax.management.openmbean.TabularData;
import org.mtm.api.ClusterState;
import org.mtm.api.ConsistencyCheck;
import org.mtm.api.InDoubtTransactions;
import org.mtm.api.LocalDatabase;
import org.mtm.api.NodeStatus;
import org.mtm.api.RefereeGrants;
import org.mtm.api.StatusReport;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** The node MBean, exported by Karaf's JMX whiteboard through the {@code jmx.objectname} property. */
@Component(immediate = true, service = NodeMBean.class, property = "jmx.objectname=" + NodeMBean.OBJECT_NAME)
public final class NodeManagement extends StandardMBean implements NodeMBean {

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile ClusterState clusterState;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile RefereeGrants refereeGrants;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile LocalDatabase database;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile ConsistencyCheck consistency;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile org.mtm.api.SequenceAllocator sequences;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile org.mtm.api.ClusterAdministration administration;

    /** Whose snapshots {@link #takeSnapshots()} keeps: the JMX clients of this node, together. */
    private final Object snapshotOwner = new Object() {
        @Override
        public String toString() {
            return "JMX";
        }
    };

    @Activate
    public NodeManagement() throws NotCompliantMBeanException {
        super(NodeMBean.class);
    }

    private StatusReport report() {
        ClusterState s = clusterState;
        return s == null ? null : s.statusReport();
    }

    @Override
    public String getRole() {
        return clusterState == null && refereeGrants != null ? "referee" : "node";
    }

    @Override
    public String getStatus() {
        StatusReport r = report();
        return r == null ? NodeStatus.DISABLED.sqlName() : r.status().sqlName();
    }

    @Override
    public int getNodeId() {
        StatusReport r = report();
        return r == null ? 0 : r.myNodeId();
    }

    @Override
    public long getGeneration() {
        StatusReport r = report();
        return r == null ? 0 : r.genNum();
    }

    @Override
    public int[] getGenerationMembers() {
        StatusReport r = report();
        return r == null ? new int[0] : r.genMembers().toArray();
    }

    @Override
    public int[] getGenerationMembersOnline() {
        StatusReport r = report();
        return r == null ? new int[0] : r.genMembersOnline().toArray();
    }

    @Override
    public int[] getGenerationConfigured() {
        StatusReport r = report();
        return r == null ? new int[0] : r.genConfigured().toArray();
    }

    @Override
    public int[] getConnectedPeers() {
        StatusReport r = report();
        return r == null ? new int[0] : r.connected().toArray();
    }

    @Override
    public TabularData listInDoubt() throws Exception {
        LocalDatabase db = database;
        if (db == null) {
            throw new IllegalStateException("this node has no PostgreSQL beside it now (a referee, or the mtm postgres component"
                + " is not active)");
        }
        try {
            return InDoubtTable.of(InDoubtTransactions.read(db));
        } catch (java.sql.SQLException e) {
            // only JDK types cross JMX: a client has no pgjdbc classes
            throw new IllegalStateException("cannot read mtm.in_doubt (SQLSTATE " + e.getSQLState() + "): " + e.getMessage());
        }
    }

    private static final String[] CHECK_ITEMS = {"same", "nodes", "differing", "first_difference"};
    private static final javax.management.openmbean.CompositeType CHECK_TYPE = checkType();

    private static javax.management.openmbean.CompositeType checkType() {
        try {
            javax.management.openmbean.SimpleType<?> s = javax.management.openmbean.SimpleType.STRING;
            return new javax.management.openmbean.CompositeType("org.mtm.CheckQuery", "mtm.check_query", CHECK_ITEMS,
                new String[] {"every node gave the same result", "nodes compared", "nodes whose result differs",
                    "the first difference, empty when same"},
                new javax.management.openmbean.OpenType<?>[] {javax.management.openmbean.SimpleType.BOOLEAN, s, s, s});
        } catch (javax.management.openmbean.OpenDataException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @Override
    public javax.management.openmbean.CompositeData checkQuery(String query) throws Exception {
        ConsistencyCheck check = consistency;
        if (check == null) {
            throw new IllegalStateException("consistent snapshots are not available on this node (a referee, or the mtm admin"
                + " or consensus components are not active)");
        }
        ConsistencyCheck.Comparison c;
        try {
            c = check.checkQuery(query, null);
        } catch (org.mtm.api.ClusterAdminException e) {
            throw new IllegalStateException("check_query failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage());
        }
        return new javax.management.openmbean.CompositeDataSupport(CHECK_TYPE, CHECK_ITEMS, new Object[] {c.same(),
            join(c.nodes()), join(c.differing()), c.firstDifference() == null ? "" : c.firstDifference()});
    }

    private static String join(java.util.List<Integer> ids) {
        return ids.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(","));
    }

    @Override
    public int alterSequences() throws Exception {
        org.mtm.api.SequenceAllocator allocator = sequences;
        if (allocator == null) {
            throw new IllegalStateException("mtm.alter_sequences is not available on this node (a referee, or the mtm"
                + " sequence component is not active)");
        }
        try {
            return allocator.alterSequences();
        } catch (java.sql.SQLException e) {
            // only JDK types cross JMX
            throw new IllegalStateException("mtm.alter_sequences failed (SQLSTATE " + e.getSQLState() + "): " + e.getMessage());
        }
    }

    @Override
    public int addNode(String conninfo) throws Exception {
        org.mtm.api.ClusterAdministration a = administration;
        if (a == null) {
            throw new IllegalStateException("mtm.add_node is not available on this node (the mtm admin component is not"
                + " active)");
        }
        try {
            return a.addNode(conninfo);
        } catch (org.mtm.api.ClusterAdminException e) {
            throw new IllegalStateException("mtm.add_node failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage());
        }
    }

    @Override
    public void joinNode(int node, String backupEndLsn) throws Exception {
        org.mtm.api.ClusterAdministration a = administration;
        if (a == null) {
            throw new IllegalStateException("mtm.join_node is not available on this node (the mtm admin component is not"
                + " active)");
        }
        try {
            a.joinNode(node, backupEndLsn);
        } catch (org.mtm.api.ClusterAdminException e) {
            throw new IllegalStateException("mtm.join_node(" + node + ") failed (SQLSTATE " + e.sqlState() + "): "
                + e.getMessage());
        }
    }

    @Override
    public String dropNode(int node) throws Exception {
        ClusterState s = clusterState;
        if (s == null) {
            throw new IllegalStateException("mtm.drop_node is not available on this node (a referee, or the mtm"
                + " consensus component is not active)");
        }
        try {
            return s.dropNode(node).toString();
        } catch (org.mtm.api.ClusterAdminException e) {
            // only JDK types cross JMX
            throw new IllegalStateException("mtm.drop_node(" + node + ") failed (SQLSTATE " + e.sqlState() + "): "
                + e.getMessage());
        }
    }

    private ClusterState requireState(String function) {
        ClusterState s = clusterState;
        if (s == null) {
            throw new IllegalStateException(function + " is not available on this node (a referee, or the mtm consensus"
                + " component is not active)");
        }
        return s;
    }

    @Override
    public javax.management.openmbean.CompositeData status() throws Exception {
        return StatusOpenData.status(requireState("mtm.status()").statusReport());
    }

    @Override
    public TabularData nodes() throws Exception {
        return StatusOpenData.nodes(requireState("mtm.nodes()").nodeReports());
    }

    @Override
    public boolean ping() throws Exception {
        try {
            return administration().ping();
        } catch (org.mtm.api.ClusterAdminException e) {
            throw new IllegalStateException("mtm.ping failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage());
        }
    }

    @Override
    public void makeTableLocal(String relation) throws Exception {
        try {
            administration().makeTableLocal(relation);
        } catch (org.mtm.api.ClusterAdminException e) {
            throw new IllegalStateException("mtm.make_table_local failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage());
        }
    }

    private org.mtm.api.ClusterAdministration administration() {
        org.mtm.api.ClusterAdministration a = administration;
        if (a == null) {
            throw new IllegalStateException("cluster administration is not available on this node (the mtm admin component"
                + " is not active)");
        }
        return a;
    }

    @Override
    public String takeSnapshots() throws Exception {
        ConsistencyCheck check = consistency;
        if (check == null) {
            throw new IllegalStateException("consistent snapshots are not available on this node (a referee, or the mtm admin"
                + " or consensus components are not active)");
        }
        try {
            return snapshotIds(check.getSnapshots(snapshotOwner));
        } catch (org.mtm.api.ClusterAdminException e) {
            throw new IllegalStateException("mtm.get_snapshots failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage());
        }
    }

    /** {@code 1:<id>,2:<id>} as {@code mtm.get_snapshots()} returns them. */
    static String snapshotIds(java.util.Map<Integer, String> ids) {
        return ids.entrySet().stream().map(e -> e.getKey() + ":" + e.getValue())
            .collect(java.util.stream.Collectors.joining(","));
    }

    @Override
    public boolean freeSnapshots() {
        ConsistencyCheck check = consistency;
        return check != null && check.freeSnapshots(snapshotOwner);
    }
}
