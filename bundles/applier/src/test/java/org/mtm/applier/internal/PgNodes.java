package org.mtm.applier.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.rules.ExternalResource;
import org.mtm.api.ClusterNode;
import org.mtm.api.Endpoint;
import org.mtm.api.Replication;
import org.mtm.postgres.internal.JdbcClusterCatalog;
import org.mtm.postgres.internal.ManagedPostgres;
import org.mtm.testing.Await;

/**
 * Real PostgreSQL 15 servers for the applier's tests, node ids 1..n, each with what cluster init
 * creates: publication {@code mtm_publication}, a two-phase pgoutput slot {@code mtm_slot_<j>} and a
 * replication origin {@code mtm_node_<j>} per other node j, and the {@code mtm.local_tables} table.
 */
final class PgNodes extends ExternalResource {
    private final int count;
    private final List<ManagedPostgres> servers = new ArrayList<>();
    private final java.util.Map<String, String> settings = new java.util.LinkedHashMap<>();
    private Path root;

    PgNodes(int count) {
        this.count = count;
    }

    /** A server setting every node starts with (some, like autovacuum_naptime, only act fully from the start). */
    PgNodes with(String name, String value) {
        settings.put(name, value);
        return this;
    }

    /** Server settings as name, value, name, value... */
    PgNodes with(String... namesAndValues) {
        for (int i = 0; i + 1 < namesAndValues.length; i += 2) {
            settings.put(namesAndValues[i], namesAndValues[i + 1]);
        }
        return this;
    }

    @Override
    protected void before() throws Throwable {
        root = Files.createTempDirectory(Path.of("/tmp"), "mtm-applier-test-");
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
        for (int i = 1; i <= count; i++) {
            Path dir = root.resolve("node" + i);
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            ManagedPostgres.Builder server = ManagedPostgres.builder().dataDirectory(dir).port(0).superuser("mtmuser")
                    .database("mydb").maxConnections(40).maxNodes(3)
                    // the tests give apply sessions explicit lock bounds; deadlock_timeout (which also caps them) must not
                    .setting("deadlock_timeout", "60s");
            server.settings(settings);
            servers.add(server.build());
        }
        CompletableFuture.allOf(servers.stream().map(s -> CompletableFuture.runAsync(s::start))
                .toArray(CompletableFuture[]::new)).join();
        for (int i = 1; i <= count; i++) {
            new JdbcClusterCatalog(node(i)).deactivate(); // the real mtm schema
            try (Connection c = node(i).connect(); Statement st = c.createStatement()) {
                st.execute("CREATE PUBLICATION " + Replication.PUBLICATION + " FOR ALL TABLES");
                for (int j = 1; j <= count; j++) {
                    if (j != i) {
                        st.execute("SELECT pg_create_logical_replication_slot('" + Replication.slotName(j)
                                + "', 'pgoutput', false, true)");
                        st.execute("SELECT pg_replication_origin_create('" + Replication.originName(j) + "')");
                    }
                }
            }
        }
    }

    @Override
    protected void after() {
        for (ManagedPostgres s : servers) {
            try {
                s.stop();
            } catch (RuntimeException e) {
                s.kill();
            }
        }
        if (root != null) {
            try (Stream<Path> all = Files.walk(root)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // best effort
            }
        }
    }

    ManagedPostgres node(int id) {
        return servers.get(id - 1);
    }

    /** Node {@code id} as the cluster configuration describes it (transport address unused here). */
    ClusterNode clusterNode(int id) {
        return new ClusterNode(id, node(id).conninfo(), new Endpoint("127.0.0.1", 1));
    }

    /** The first column of the first row {@code sql} returns on node {@code id} (null: no row). */
    String scalar(int id, String sql) throws SQLException {
        try (Connection c = node(id).connect(); Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** Runs statements on node {@code id}, each in its own transaction. */
    void exec(int id, String... sql) throws SQLException {
        try (Connection c = node(id).connect(); Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        }
    }

    /** Runs statements on every node. */
    void execEverywhere(String... sql) throws SQLException {
        for (int i = 1; i <= count; i++) {
            exec(i, sql);
        }
    }

    /** First column of the first row, as text (null for SQL NULL or no row). */
    String query(int id, String sql) throws SQLException {
        try (Connection c = node(id).connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** First column of the first row on an open statement's connection (inside its transaction). */
    String queryIn(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /**
     * Stops the receivers, waits until their backends are gone, and rolls back what is left prepared: a test's
     * end, so the next one starts with free slots and origins.
     */
    void stopAll(List<Receiver> receivers) throws Exception {
        receivers.forEach(Receiver::stop);
        for (int i = 1; i <= count; i++) {
            for (int j = 1; j <= count; j++) {
                if (i != j) {
                    awaitStreamGone(i, j);
                }
            }
        }
        rollbackAllPrepared();
    }

    /**
     * Waits until the walsender and apply backends of a stopped receiver on node {@code self} for node
     * {@code peer} have exited. PostgreSQL ends a backend shortly after its client closed the socket, not at
     * once, and until then the slot and the replication origin are in use: a receiver started at once would
     * fail its first attempt (and count a failure).
     */
    void awaitStreamGone(int self, int peer) throws Exception {
        Await.until(Duration.ofSeconds(20), "the stream of node " + peer + " to node " + self + " gone", () ->
                count(peer, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'mtm_receiver_" + self + "'") == 0
                && count(self, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mtm_apply_" + peer
                        + "' OR application_name LIKE 'mtm\\_apply\\_" + peer + "\\_%'") == 0);
    }

    /** BEGIN; statements; PREPARE TRANSACTION on node {@code origin}, as its gateway does; returns the gid. */
    String prepare(int origin, String... statements) throws SQLException {
        try (Connection c = node(origin).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            for (String sql : statements) {
                st.execute(sql);
            }
            return prepareAsGateway(st, origin);
        }
    }

    /**
     * PREPARE TRANSACTION of the transaction open on {@code st} (a connection to node {@code origin}) under the
     * gid the gateway would give it, {@code MTM-<origin>-<xid>-1}; returns the gid.
     */
    String prepareAsGateway(Statement st, int origin) throws SQLException {
        String gid = "MTM-" + origin + "-" + queryIn(st, "SELECT pg_current_xact_id()::text") + "-1";
        st.execute("PREPARE TRANSACTION '" + gid + "'");
        return gid;
    }

    long count(int id, String sql) throws SQLException {
        return Long.parseLong(query(id, sql));
    }

    /** md5 of a table's rows in a fixed order (duplicates count). */
    String md5(int id, String table) throws SQLException {
        return query(id, "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), 'empty') FROM " + table + " t");
    }

    boolean prepared(int id, String gid) throws SQLException {
        return count(id, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + gid + "'") == 1;
    }

    /** Rolls back every prepared transaction left on every node (test cleanup). */
    void rollbackAllPrepared() throws SQLException {
        for (int i = 1; i <= count; i++) {
            try (Connection c = node(i).connect(); Statement st = c.createStatement()) {
                List<String> gids = new ArrayList<>();
                try (ResultSet rs = st.executeQuery("SELECT gid FROM pg_prepared_xacts")) {
                    while (rs.next()) {
                        gids.add(rs.getString(1));
                    }
                }
                for (String g : gids) {
                    st.execute("ROLLBACK PREPARED '" + g + "'");
                }
            }
        }
    }
}
