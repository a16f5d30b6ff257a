package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterAdministration;
import org.mtm.api.ClusterCatalog;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterNode;
import org.mtm.api.Conninfo;
import org.mtm.api.Endpoint;
import org.mtm.api.LocalDatabase;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code mtm.init_cluster(my_conninfo, peers_conninfo[])}: checks every node first (reachable, a running mtm node
 * beside it, the settings multimaster needs, not part of another cluster, no server named twice, no user trigger set
 * to fire in replica mode ({@link ReplicaModeTriggers})), and only then creates the replication objects
 * (publication, slots, origins), stores the configuration — node ids 1..N in the order given — and generation 1 on
 * each, strides the sequences that exist already ({@link InitialStride}), and wakes every node. Re-running it with
 * the same list is harmless. Also {@code mtm.ping()} ({@link ClusterPing}) and {@code mtm.make_table_local} for the
 * console and JMX ({@link LocalTables}).
 */
@Component(immediate = true, service = ClusterAdministration.class)
public final class ClusterInitializer implements ClusterAdministration {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterInitializer.class);

    private final ClusterCatalog catalog;
    private final LocalDatabase localDatabase;
    // optional and dynamic: a referee has neither, and the consensus bundle may be updated while this one runs
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile org.mtm.api.ClusterState clusterState;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile org.mtm.api.Coordinator coordinator;


    @org.osgi.service.component.annotations.Reference(
        cardinality = org.osgi.service.component.annotations.ReferenceCardinality.OPTIONAL,
        policy = org.osgi.service.component.annotations.ReferencePolicy.DYNAMIC,
        policyOption = org.osgi.service.component.annotations.ReferencePolicyOption.GREEDY)
    private volatile org.mtm.api.SequenceAllocator sequences;

    @Activate
    public ClusterInitializer(@Reference(name = "catalog") ClusterCatalog catalog,
                              @Reference(name = "localDatabase") LocalDatabase localDatabase) {
        this.catalog = catalog;
        this.localDatabase = localDatabase;
    }

    @Override
    public boolean ping() throws ClusterAdminException {
        return ClusterPing.ping(clusterState);
    }

    @Override
    public void makeTableLocal(String relation) throws ClusterAdminException {
        org.mtm.api.ClusterState state = clusterState;
        LocalTables.makeTableLocal(localDatabase, state, coordinator, relation);
        LOG.info("node {}: table {} made local (mtm.make_table_local) on every node", state.selfId(), relation);
    }

    @Override
    public ClusterConfig initCluster(String myConninfo, List<String> peerConninfos) throws ClusterAdminException {
        List<String> texts = new ArrayList<>();
        texts.add(myConninfo);
        texts.addAll(peerConninfos);
        InitPlan plan = InitPlan.of(texts);

        List<Connection> connections = new ArrayList<>();
        try {
            for (int i = 0; i < plan.size(); i++) {
                connections.add(NodeConnections.open(plan.conninfo(i), i + 1));
            }
            checkFirstIsThisNode(connections.get(0), plan.text(0));
            checkDistinctServers(connections, plan);
            List<ClusterNode> nodes = new ArrayList<>();
            for (int i = 0; i < plan.size(); i++) {
                Connection c = connections.get(i);
                checkSettings(c, i + 1, plan.text(i));
                catalog.installSchema(c);
                nodes.add(new ClusterNode(i + 1, plan.text(i), transportOf(c, i + 1, plan.text(i))));
            }
            for (int i = 0; i < plan.size(); i++) {
                checkNotInOtherCluster(connections.get(i), i + 1, plan.text(i), nodes);
                ReplicaModeTriggers.refuseAny(connections.get(i), "node " + (i + 1) + " (" + plan.text(i) + ")");
            }
            for (int i = 0; i < plan.size(); i++) {
                ReplicationSetup.prepare(connections.get(i), new ClusterConfig(i + 1, nodes));
            }
            for (int i = 0; i < plan.size(); i++) {
                catalog.storeClusterConfig(connections.get(i), new ClusterConfig(i + 1, nodes));
            }
            int[] strided = InitialStride.apply(connections);
            for (Connection c : connections) {
                catalog.notifyConfigChanged(c);
            }
            ClusterConfig mine = new ClusterConfig(1, nodes);
            LOG.info("node 1: cluster initialised with nodes {} in generation 1; sequences strided per node: {}",
                mine.configured(), java.util.Arrays.toString(strided));
            return mine;
        } catch (SQLException e) {
            throw new ClusterAdminException(e.getSQLState() == null ? "XX000" : e.getSQLState(),
                "init_cluster failed: " + e.getMessage(), e);
        } finally {
            for (Connection c : connections) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // closing a connection we are done with; nothing to recover
                }
            }
        }
    }

    @Override
    public int addNode(String conninfo) throws ClusterAdminException {
        return new NodeAddition(catalog, localDatabase).addNode(requireState("mtm.add_node"), conninfo);
    }

    @Override
    public void joinNode(int node, String backupEndLsn) throws ClusterAdminException {
        new NodeAddition(catalog, localDatabase).joinNode(requireState("mtm.join_node"), sequences, node, backupEndLsn);
    }

    private org.mtm.api.ClusterState requireState(String function) throws ClusterAdminException {
        org.mtm.api.ClusterState s = clusterState;
        if (s == null || !s.loaded() || s.selfId() == 0) {
            throw new ClusterAdminException("55000", function + " needs an initialised node whose cluster state is"
                + " loaded (the consensus bundle running)");
        }
        return s;
    }

    private void checkFirstIsThisNode(Connection first, String text) throws SQLException, ClusterAdminException {
        long mine;
        try (Connection local = localDatabase.connect()) {
            mine = systemIdentifier(local);
        }
        if (systemIdentifier(first) != mine) {
            throw new ClusterAdminException("22023", "my_conninfo '" + text + "' does not reach the PostgreSQL of this"
                + " node (" + localDatabase.conninfo() + "); run init_cluster on the node named first");
        }
    }

    private static void checkDistinctServers(List<Connection> connections, InitPlan plan)
        throws SQLException, ClusterAdminException {
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < connections.size(); i++) {
            String key = systemIdentifier(connections.get(i)) + "/" + connections.get(i).getCatalog();
            Integer before = seen.putIfAbsent(key, i + 1);
            if (before != null) {
                throw new ClusterAdminException("22023", "conninfo '" + plan.text(before - 1) + "' and '" + plan.text(i)
                    + "' reach the same database; give every node once");
            }
        }
    }

    private static long systemIdentifier(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT system_identifier FROM pg_control_system()");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void checkSettings(Connection c, int id, String text) throws SQLException, ClusterAdminException {
        String walLevel = setting(c, "wal_level");
        if (!"logical".equals(walLevel)) {
            throw new ClusterAdminException("55000", "node " + id + " (" + text + ") has wal_level=" + walLevel
                + "; multimaster needs wal_level=logical (set it in postgresql.conf and restart that server)");
        }
        if (Integer.parseInt(setting(c, "max_prepared_transactions")) == 0) {
            throw new ClusterAdminException("55000", "node " + id + " (" + text + ") has max_prepared_transactions=0;"
                + " multimaster needs at least max_connections * nodes (set it in postgresql.conf and restart)");
        }
    }

    private static String setting(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT current_setting(?)")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    private Endpoint transportOf(Connection c, int id, String text) throws SQLException, ClusterAdminException {
        Endpoint transport = catalog.advertisedEndpoints(c).get(ClusterCatalog.TRANSPORT);
        if (transport == null) {
            throw new ClusterAdminException("55000", "no mtm node is running beside node " + id + " (" + text
                + "): its Karaf node has not advertised a transport endpoint; start it and retry");
        }
        return transport;
    }

    /** Refuses before anything is written when a node already belongs to a cluster with other nodes. */
    private static void checkNotInOtherCluster(Connection c, int id, String text, List<ClusterNode> planned)
        throws SQLException, ClusterAdminException {
        List<String> stored = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT id, conninfo FROM mtm.cluster_nodes ORDER BY id");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                stored.add(rs.getInt(1) + "=" + rs.getString(2));
            }
        }
        List<String> wanted = planned.stream().map(n -> n.id() + "=" + n.conninfo()).toList();
        if (!stored.isEmpty() && !stored.equals(wanted)) {
            throw new ClusterAdminException("55000", "node " + id + " (" + text + ") already belongs to a cluster of "
                + stored + "; drop it from that cluster (or remove schema mtm there) before adding it to this one");
        }
    }
}
