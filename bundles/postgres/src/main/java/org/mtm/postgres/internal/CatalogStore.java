package org.mtm.postgres.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterNode;
import org.mtm.api.Endpoint;

/** The catalog's SQL on a given connection (local database or a peer's). */
final class CatalogStore {
    static final String CHANNEL = "mtm_config";

    private CatalogStore() {
    }

    /** The stored configuration, empty before init_cluster. */
    static Optional<ClusterConfig> load(Connection c) throws SQLException {
        if (joinPending(c)) {
            return Optional.empty(); // a base backup of another node waiting for mtm.join_node: not that node
        }
        List<ClusterNode> nodes = new ArrayList<>();
        List<Integer> self = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, conninfo, transport_host, transport_port, is_self "
                     + "FROM mtm.cluster_nodes ORDER BY id")) {
            while (rs.next()) {
                int id = rs.getInt(1);
                nodes.add(new ClusterNode(id, rs.getString(2), new Endpoint(rs.getString(3), rs.getInt(4))));
                if (rs.getBoolean(5)) {
                    self.add(id);
                }
            }
        }
        if (nodes.isEmpty()) {
            return Optional.empty();
        }
        if (self.size() != 1) {
            throw new SQLException("mtm.cluster_nodes marks " + (self.isEmpty() ? "no node" : "nodes " + self)
                    + " as this node (is_self); exactly one must be: fix the is_self column", "55000");
        }
        return Optional.of(new ClusterConfig(self.get(0), nodes));
    }

    /**
     * A server made from a base backup (BaseBackup) that mtm.join_node has not made itself yet: its rows are its
     * source's. (A joined row stays until its own slots exist: JoinedNodeSlots.)
     */
    static boolean joinPending(Connection c) throws SQLException {
        boolean exists;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT to_regclass('mtm.join_pending') IS NOT NULL")) {
            rs.next();
            exists = rs.getBoolean(1);
        }
        if (!exists) {
            return false;
        }
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT 1 FROM mtm.join_pending WHERE NOT joined)")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /**
     * Stores the configuration and generation 1 in one transaction; a no-op when the same configuration
     * is already there; refused (SQLSTATE 55000) when another one is.
     */
    static void store(Connection c, ClusterConfig config) throws SQLException {
        ClusterConfig wanted = sorted(config);
        Set<Integer> ids = new HashSet<>();
        for (ClusterNode n : wanted.nodes()) {
            if (!ids.add(n.id())) {
                throw new SQLException("node id " + n.id() + " appears twice in the cluster configuration: "
                        + "give every node its own id", "22023");
            }
        }
        Transactions.run(c, () -> {
            try (Statement st = c.createStatement()) {
                // self-conflicting: concurrent init_cluster runs on one database take turns
                st.execute("LOCK TABLE mtm.cluster_nodes IN SHARE ROW EXCLUSIVE MODE");
            }
            Optional<ClusterConfig> stored = load(c);
            if (stored.isPresent()) {
                if (stored.get().equals(wanted)) {
                    return null;
                }
                throw new SQLException("the database at " + c.getMetaData().getURL() + " already belongs to a cluster: "
                        + describe(stored.get()) + "; refusing to store " + describe(wanted)
                        + ". To reuse this database for a new cluster drop its catalog first (DROP SCHEMA mtm CASCADE); "
                        + "to change a running cluster use mtm.add_node / mtm.drop_node", "55000");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO mtm.cluster_nodes "
                    + "(id, conninfo, transport_host, transport_port, is_self) VALUES (?, ?, ?, ?, ?)")) {
                for (ClusterNode n : wanted.nodes()) {
                    ps.setInt(1, n.id());
                    ps.setString(2, n.conninfo());
                    ps.setString(3, n.transport().host());
                    ps.setInt(4, n.transport().port());
                    ps.setBoolean(5, n.id() == wanted.selfId());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            long mask = wanted.configured().mask();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO mtm.generation_state "
                    + "(current_gen, gen_members, gen_configured, last_online_in, last_vote, donors) "
                    + "VALUES (1, ?, ?, 1, 1, ?)")) {
                ps.setLong(1, mask);
                ps.setLong(2, mask);
                ps.setLong(3, mask);
                ps.executeUpdate();
            }
            try (Statement st = c.createStatement()) {
                st.execute("NOTIFY " + CHANNEL); // delivered at commit
            }
            return null;
        });
    }

    static void advertise(Connection c, String service, Endpoint endpoint) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO mtm.endpoints (service, host, port, updated_at) "
                + "VALUES (?, ?, ?, now()) ON CONFLICT (service) DO UPDATE "
                + "SET host = excluded.host, port = excluded.port, updated_at = now()")) {
            ps.setString(1, service);
            ps.setString(2, endpoint.host());
            ps.setInt(3, endpoint.port());
            ps.executeUpdate();
        }
    }

    static Map<String, Endpoint> endpoints(Connection c) throws SQLException {
        Map<String, Endpoint> result = new LinkedHashMap<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT service, host, port FROM mtm.endpoints ORDER BY service")) {
            while (rs.next()) {
                result.put(rs.getString(1), new Endpoint(rs.getString(2), rs.getInt(3)));
            }
        }
        return result;
    }

    static void notifyChanged(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("NOTIFY " + CHANNEL);
        }
    }

    /** The same configuration with nodes by id, the order the catalog reads them back in. */
    static ClusterConfig sorted(ClusterConfig config) {
        return new ClusterConfig(config.selfId(),
                config.nodes().stream().sorted(Comparator.comparingInt(ClusterNode::id)).toList());
    }

    /** Self, members and transports; no conninfos, which may carry passwords. */
    static String describe(ClusterConfig config) {
        StringBuilder b = new StringBuilder("node ").append(config.selfId()).append(" of ")
                .append(config.configured()).append(" (");
        for (ClusterNode n : config.nodes()) {
            if (b.charAt(b.length() - 1) != '(') {
                b.append(", ");
            }
            b.append(n.id()).append(": transport ").append(n.transport());
        }
        return b.append(')').toString();
    }
}
