package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.mtm.admin.internal.check.QueryOrder;
import org.mtm.admin.internal.check.ResultComparison;
import org.mtm.admin.internal.check.ResultDigest;
import org.mtm.admin.internal.check.SnapshotPoint;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterState;
import org.mtm.api.CommitHolds;
import org.mtm.api.ConsistencyCheck;
import org.mtm.api.Conninfo;
import org.mtm.api.LocalDatabase;
import org.mtm.api.NodeReport;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots of every node at one consistent point, and {@code mtm.check_query} over them. The I/O of
 * {@link SnapshotPoint}, {@link QueryOrder}, {@link ResultDigest} and {@link ResultComparison}: connections to every
 * member's PostgreSQL (REPEATABLE READ, READ ONLY) are opened first; then the cluster's commits are held, each
 * connection fixes its snapshot, and the hold ends — a few milliseconds — before the query runs on every node at once.
 */
@Component(immediate = true, service = ConsistencyCheck.class)
public final class ClusterSnapshots implements ConsistencyCheck {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterSnapshots.class);
    /** The longest the cluster's commits are held; half of it for the commits in flight to end. */
    static final Duration HOLD = Duration.ofSeconds(4);
    static final int ATTEMPTS = 3;
    private static final String FIX_SNAPSHOT = "SELECT pg_catalog.pg_export_snapshot(), (SELECT count(*) FROM"
        + " pg_catalog.pg_prepared_xacts WHERE database = pg_catalog.current_database() AND gid LIKE 'MTM-%')";

    // optional: the admin bundle also runs on a referee, which has none of these (a mandatory one would keep the
    // bundle's features from resolving there)
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile CommitHolds holds;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile ClusterState clusterState;
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile LocalDatabase database;
    private final ExecutorService queries = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "mtm-check-query");
        t.setDaemon(true);
        return t;
    });
    private final Map<Object, List<NodeSnapshot>> kept = new ConcurrentHashMap<>();

    @Activate
    public ClusterSnapshots() {
    }

    /** The services a consistent point needs, or 55000 naming what is missing. */
    private record Services(CommitHolds holds, ClusterState clusterState, LocalDatabase database) {
    }

    private Services services() throws ClusterAdminException {
        CommitHolds h = holds;
        ClusterState s = clusterState;
        LocalDatabase d = database;
        if (h == null || s == null || d == null) {
            throw new ClusterAdminException("55000", "[multimaster] consistent snapshots are not available on this node:"
                + (h == null || s == null ? " the consensus bundle is not running (a referee, or see scr:list)" : "")
                + (d == null ? " its PostgreSQL is not accepting connections" : ""));
        }
        return new Services(h, s, d);
    }

    @Deactivate
    void deactivate() {
        kept.values().forEach(ClusterSnapshots::closeAll);
        kept.clear();
        queries.shutdownNow();
    }

    /** One node's transaction, its snapshot fixed. */
    record NodeSnapshot(int node, Connection connection, String snapshotId) {
    }

    @Override
    public Comparison checkQuery(String query, String role, java.util.function.Consumer<String> progress)
            throws ClusterAdminException {
        boolean ordered = QueryOrder.ordersRows(query);
        Services services = services();
        List<NodeSnapshot> snapshots = snapshotsAtOnePoint(services);
        progress.accept("snapshots taken at one consistent point on nodes "
            + snapshots.stream().map(NodeSnapshot::node).toList() + "; running the query on each");
        try {
            Map<Integer, CompletableFuture<ResultDigest>> running = new LinkedHashMap<>();
            for (NodeSnapshot s : snapshots) {
                running.put(s.node(), CompletableFuture.supplyAsync(() -> {
                    long start = System.nanoTime();
                    ResultDigest d = digest(s, query, role, ordered, progress);
                    progress.accept(String.format("node %d: done, %,d rows in %.1f s", s.node(), d.rowCount(),
                        (System.nanoTime() - start) / 1e9));
                    return d;
                }, queries));
            }
            TreeMap<Integer, ResultDigest> results = new TreeMap<>();
            for (Map.Entry<Integer, CompletableFuture<ResultDigest>> e : running.entrySet()) {
                try {
                    results.put(e.getKey(), e.getValue().join());
                } catch (CompletionException failed) {
                    if (failed.getCause() instanceof QueryFailed q) {
                        throw new ClusterAdminException(q.sqlState, "[multimaster] mtm.check_query: the query failed on node "
                            + e.getKey() + ": " + q.getMessage());
                    }
                    throw new ClusterAdminException("XX000", "[multimaster] mtm.check_query failed on node " + e.getKey()
                        + ": " + failed.getCause(), failed.getCause());
                }
            }
            ResultComparison.Outcome o = ResultComparison.compare(results);
            Map<Integer, String> summaries = new TreeMap<>();
            results.forEach((node, d) -> summaries.put(node, d.rowCount() + " rows, digest " + d.hash()));
            if (!o.same()) {
                LOG.warn("node {}: mtm.check_query found nodes {} differing from node {}: {} (query: {})",
                    services.clusterState().selfId(),
                    o.differing(), o.reference(), o.firstDifference(), query);
            }
            return new Comparison(o.same(), o.nodes(), o.reference(), o.differing(), o.firstDifference(), summaries);
        } finally {
            closeAll(snapshots);
        }
    }

    @Override
    public Map<Integer, String> getSnapshots(Object owner) throws ClusterAdminException {
        Services services = services();
        freeSnapshots(owner);
        List<NodeSnapshot> snapshots = snapshotsAtOnePoint(services);
        kept.put(owner, snapshots);
        Map<Integer, String> ids = new TreeMap<>();
        snapshots.forEach(s -> ids.put(s.node(), s.snapshotId()));
        return ids;
    }

    @Override
    public boolean freeSnapshots(Object owner) {
        List<NodeSnapshot> snapshots = kept.remove(owner);
        closeAll(snapshots);
        return snapshots != null;
    }

    /** Snapshots of every member of the generation at one consistent point ({@link SnapshotPoint}), a few attempts. */
    private List<NodeSnapshot> snapshotsAtOnePoint(Services services) throws ClusterAdminException {
        String why = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            Map<Integer, Connection> connections = connectToMembers(services.clusterState(), services.database());
            List<NodeSnapshot> snapshots = new ArrayList<>();
            Map<Integer, Long> prepared = new HashMap<>();
            Set<Integer> held;
            try {
                CommitHolds.Hold hold = hold(services.holds());
                try {
                    held = Set.copyOf(hold.nodes().ids());
                    for (Map.Entry<Integer, Connection> e : connections.entrySet()) {
                        try (Statement st = e.getValue().createStatement(); ResultSet rs = st.executeQuery(FIX_SNAPSHOT)) {
                            rs.next();
                            snapshots.add(new NodeSnapshot(e.getKey(), e.getValue(), rs.getString(1)));
                            prepared.put(e.getKey(), rs.getLong(2));
                        }
                    }
                } finally {
                    hold.close();
                }
            } catch (SQLException e) {
                closeAll(connections.values());
                throw new ClusterAdminException("08006", "[multimaster] cannot take a snapshot on every node: " + e.getMessage(), e);
            } catch (ClusterAdminException | RuntimeException e) {
                closeAll(connections.values());
                throw e;
            }
            why = SnapshotPoint.inconsistency(held, prepared);
            if (why == null) {
                return snapshots;
            }
            closeAll(connections.values());
            LOG.info("node {}: snapshots of attempt {} are not one consistent point: {}", services.clusterState().selfId(),
                attempt, why);
        }
        throw new ClusterAdminException("55P03", "[multimaster] no consistent point of the cluster after " + ATTEMPTS
            + " attempts: " + why);
    }

    private static CommitHolds.Hold hold(CommitHolds holds) throws ClusterAdminException {
        try {
            return holds.holdCommits(HOLD).toCompletableFuture().get(HOLD.toMillis() + 2000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ClusterAdminException c) {
                throw c;
            }
            throw new ClusterAdminException("XX000", "[multimaster] cannot hold the cluster's commits: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new ClusterAdminException("55P03", "[multimaster] the cluster's commits could not be held within " + HOLD);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterAdminException("57014", "[multimaster] interrupted while holding the cluster's commits");
        }
    }

    /** A REPEATABLE READ, READ ONLY transaction (not begun yet) on each member's PostgreSQL, by node id. */
    private static Map<Integer, Connection> connectToMembers(ClusterState clusterState, LocalDatabase database)
        throws ClusterAdminException {
        int self = clusterState.selfId();
        Set<Integer> members = Set.copyOf(clusterState.currentGeneration().members().with(self).ids());
        Map<Integer, Connection> connections = new TreeMap<>();
        try {
            for (NodeReport n : clusterState.nodeReports()) {
                if (!members.contains(n.id())) {
                    continue;
                }
                Connection c = n.id() == self ? database.connect() : connect(n.conninfo());
                connections.put(n.id(), c);
                c.setAutoCommit(false);
                c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                c.setReadOnly(true);
            }
        } catch (SQLException e) {
            closeAll(connections.values());
            throw new ClusterAdminException(e.getSQLState() == null ? "08001" : e.getSQLState(),
                "[multimaster] cannot connect to every node for a consistent snapshot: " + e.getMessage(), e);
        }
        return connections;
    }

    private static Connection connect(String conninfo) throws SQLException {
        Conninfo c = Conninfo.parse(conninfo);
        Properties p = c.jdbcProperties();
        p.setProperty("ApplicationName", "mtm_admin check_query");
        Connection connection = new org.postgresql.Driver().connect(c.jdbcUrl(), p);
        if (connection == null) {
            throw new SQLException("the PostgreSQL driver does not accept URL " + c.jdbcUrl(), "08001");
        }
        return connection;
    }

    /** A failure of the query itself on a node: its SQLSTATE goes to the caller. */
    private static final class QueryFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String sqlState;

        QueryFailed(SQLException e) {
            super(e.getMessage(), e);
            this.sqlState = e.getSQLState() == null ? "XX000" : e.getSQLState();
        }
    }

    private static ResultDigest digest(NodeSnapshot s, String query, String role, boolean ordered,
                                       java.util.function.Consumer<String> progress) {
        try (Statement st = s.connection().createStatement()) {
            if (role != null) {
                st.execute("SET LOCAL ROLE " + quoteIdent(role)); // the caller's rights, not the cluster user's
            }
            st.setFetchSize(1000);
            try (ResultSet rs = st.executeQuery(query)) {
                ResultSetMetaData meta = rs.getMetaData();
                List<String> columns = new ArrayList<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    columns.add(meta.getColumnLabel(i));
                }
                ResultDigest d = new ResultDigest(columns, ordered);
                long read = 0;
                while (rs.next()) {
                    if (++read % PROGRESS_ROWS == 0) {
                        progress.accept(String.format("node %d: %,d rows read", s.node(), read));
                    }
                    List<String> row = new ArrayList<>(columns.size());
                    for (int i = 1; i <= columns.size(); i++) {
                        row.add(rs.getString(i));
                    }
                    d.add(row);
                }
                return d;
            }
        } catch (SQLException e) {
            throw new QueryFailed(e);
        }
    }

    static String quoteIdent(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    private static void closeAll(List<NodeSnapshot> snapshots) {
        if (snapshots != null) {
            closeAll(snapshots.stream().map(NodeSnapshot::connection).toList());
        }
    }

    private static void closeAll(java.util.Collection<Connection> connections) {
        for (Connection c : connections) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // closing anyway
            }
            try {
                c.close();
            } catch (SQLException ignored) {
                // the transaction ends with the connection
            }
        }
    }
}
