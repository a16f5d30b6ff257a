package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.ClusterCatalog;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterConfigListener;
import org.mtm.api.ClusterNode;
import org.mtm.api.Conninfo;
import org.mtm.api.Endpoint;
import org.mtm.api.NodeSet;

/** The catalog against a real server; each test gets its own database on it. */
public class JdbcClusterCatalogTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static ManagedPostgres pg;

    private ExternalPostgres db;
    private JdbcClusterCatalog catalog;

    @BeforeClass
    public static void startServer() throws Exception {
        pg = DIRS.track(ManagedPostgres.builder().dataDirectory(DIRS.newDir().resolve("data"))
                .setting("shared_buffers", "16MB").maxConnections(30).build());
        pg.start();
    }

    @AfterClass
    public static void stopServer() {
        pg.stop();
    }

    @Before
    public void freshDatabase() throws Exception {
        String name = "catalog_" + DATABASES.incrementAndGet();
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        }
        db = new ExternalPostgres(Conninfo.parse(pg.conninfo()).with("dbname", name).format());
        catalog = new JdbcClusterCatalog(db);
    }

    @After
    public void closeCatalog() {
        catalog.deactivate();
    }

    private static ClusterConfig config(int self, int... ids) {
        List<ClusterNode> nodes = new java.util.ArrayList<>();
        for (int id : ids) {
            nodes.add(new ClusterNode(id, "host=10.0.0." + id + " port=5432 dbname=mydb user=mtmuser",
                    new Endpoint("10.0.0." + id, 7000 + id)));
        }
        return new ClusterConfig(self, nodes);
    }

    private String scalar(String sql) throws SQLException {
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    public void schemaInstallIsIdempotentAndConcurrent() throws Exception {
        try (Connection c = db.connect()) {
            catalog.installSchema(c);
            catalog.installSchema(c);
            assertTrue(c.getAutoCommit());
        }
        assertEquals("4", scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'mtm' AND tablename IN "
                + "('cluster_nodes', 'endpoints', 'generation_state', 'local_tables')"));

        // several nodes' installers on one fresh database at once
        String name = "catalog_race_" + DATABASES.incrementAndGet();
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Callable<Void>> installs = java.util.Collections.nCopies(4, () -> {
                try (Connection c = pg.connect(name)) {
                    catalog.installSchema(c);
                }
                return null;
            });
            for (Future<Void> f : pool.invokeAll(installs)) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    public void storesConfigurationAndFirstGenerationOnce() throws Exception {
        assertEquals(Optional.empty(), catalog.clusterConfig());
        try (Connection c = db.connect()) {
            c.setAutoCommit(false); // the caller's own transaction: joined, and rolled back here
            catalog.storeClusterConfig(c, config(1, 1));
            c.rollback();
        }
        assertEquals("0", scalar("SELECT count(*) FROM mtm.cluster_nodes"));
        ClusterConfig config = config(2, 3, 1, 2);
        try (Connection c = db.connect()) {
            catalog.storeClusterConfig(c, config);
            catalog.storeClusterConfig(c, config(2, 1, 2, 3)); // same nodes, other order: re-init is a no-op
        }
        assertEquals("1 7 7 1 1 7", scalar("SELECT concat_ws(' ', current_gen, gen_members, gen_configured, "
                + "last_online_in, last_vote, donors) FROM mtm.generation_state"));
        assertEquals("2", scalar("SELECT string_agg(id::text, ',') FROM mtm.cluster_nodes WHERE is_self"));
        assertEquals("3", scalar("SELECT count(*) FROM mtm.cluster_nodes"));

        try (Connection c = db.connect()) {
            SQLException other = assertThrows(SQLException.class, () -> catalog.storeClusterConfig(c, config(2, 1, 2, 4)));
            assertEquals("55000", other.getSQLState());
            assertTrue(other.getMessage(), other.getMessage().contains("already belongs to a cluster: node 2 of {1,2,3}"));
            assertTrue(other.getMessage(), other.getMessage().contains("DROP SCHEMA mtm CASCADE"));
            SQLException otherSelf = assertThrows(SQLException.class, () -> catalog.storeClusterConfig(c, config(1, 1, 2, 3)));
            assertEquals("55000", otherSelf.getSQLState());
            assertTrue(c.getAutoCommit());

            ClusterConfig twice = new ClusterConfig(1, List.of(config(1, 1).self(), config(1, 1).self()));
            assertEquals("22023", assertThrows(SQLException.class, () -> catalog.storeClusterConfig(c, twice)).getSQLState());
        }
        assertEquals("3", scalar("SELECT count(*) FROM mtm.cluster_nodes"));
        assertEquals("storing on the local database is read back at once", Optional.of(config(2, 1, 2, 3)),
                catalog.clusterConfig());
        assertEquals(NodeSet.of(1, 2, 3), catalog.clusterConfig().orElseThrow().configured());
    }

    @Test
    public void advertisesEndpoints() throws Exception {
        catalog.advertise(ClusterCatalog.TRANSPORT, new Endpoint("127.0.0.1", 7001));
        catalog.advertise(ClusterCatalog.GATEWAY, new Endpoint("127.0.0.1", 6001));
        catalog.advertise(ClusterCatalog.TRANSPORT, new Endpoint("10.0.0.9", 7002));
        try (Connection c = db.connect()) {
            assertEquals(Map.of(ClusterCatalog.TRANSPORT, new Endpoint("10.0.0.9", 7002),
                    ClusterCatalog.GATEWAY, new Endpoint("127.0.0.1", 6001)), catalog.advertisedEndpoints(c));
        }
    }

    @Test
    public void listenersHearOfChangesByNotifyReloadAndAfterReconnect() throws Exception {
        BlockingQueue<Optional<ClusterConfig>> heard = new LinkedBlockingQueue<>();
        ClusterConfigListener listener = heard::add;
        catalog.addListener(listener);
        assertEquals("a new listener is told the current state", Optional.empty(), heard.poll(5, TimeUnit.SECONDS));

        try (Connection c = db.connect()) {
            catalog.storeClusterConfig(c, config(1, 1, 2));
        }
        assertEquals(Optional.of(config(1, 1, 2)), heard.poll(5, TimeUnit.SECONDS));

        // a change made by other code, announced with NOTIFY
        long t0;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("UPDATE mtm.cluster_nodes SET transport_port = 9002 WHERE id = 2");
            t0 = System.nanoTime();
            catalog.notifyConfigChanged(c);
        }
        Optional<ClusterConfig> notified = heard.poll(5, TimeUnit.SECONDS);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals(new Endpoint("10.0.0.2", 9002), notified.orElseThrow().node(2).orElseThrow().transport());
        assertTrue("NOTIFY, not the 5 s reload, brought the change: " + millis + " ms", millis < 3_500);
        assertEquals(notified, catalog.clusterConfig());

        // the LISTEN connection is cut: the watcher reconnects and reloads
        try (Connection c = db.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                     + "WHERE datname = current_database() AND pid <> pg_backend_pid()")) {
            rs.next();
            assertTrue(rs.getInt(1) >= 1);
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("UPDATE mtm.cluster_nodes SET transport_port = 8002 WHERE id = 2"); // no NOTIFY
        }
        Optional<ClusterConfig> changed = heard.poll(15, TimeUnit.SECONDS);
        assertNotNull("the reload after reconnecting (or the periodic one) found the change", changed);
        assertEquals(new Endpoint("10.0.0.2", 8002), changed.orElseThrow().node(2).orElseThrow().transport());

        // a removed listener hears nothing more; a later one hears the current state at once
        catalog.removeListener(listener);
        BlockingQueue<Optional<ClusterConfig>> late = new LinkedBlockingQueue<>();
        catalog.addListener(late::add);
        assertEquals(changed, late.poll(5, TimeUnit.SECONDS));
        try (Connection c = db.connect()) {
            catalog.notifyConfigChanged(c);
        }
        assertEquals(null, heard.poll(500, TimeUnit.MILLISECONDS));
    }
}
