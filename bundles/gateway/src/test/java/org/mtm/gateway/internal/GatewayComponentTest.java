package org.mtm.gateway.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.annotation.Annotation;
import java.sql.Connection;
import java.time.Duration;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterAdministration;
import org.mtm.api.ClusterCatalog;
import org.mtm.api.ClusterNode;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterState;
import org.mtm.api.Coordinator;
import org.mtm.api.Endpoint;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeStatus;
import org.mtm.api.StatusReport;
import org.mtm.gateway.internal.it.TestPostgres;
import org.mtm.postgres.internal.JdbcClusterCatalog;
import org.mtm.testing.Await;
import org.mtm.testing.TestCertificates;

/** The DS component without a framework: constructed, bound and deactivated by hand, on a real server. */
public class GatewayComponentTest {
    @ClassRule
    public static final TestPostgres PG = new TestPostgres();
    /** A server that asks for a password on the loopback too (as every managed server does). */
    @ClassRule
    public static final TestPostgres GUARDED = new TestPostgres(b -> b.password("guard-pw"));

    private static Gateway.Config config(int port, boolean wrap) {
        return config(port, wrap, "", "", false);
    }

    private static Gateway.Config config(int port, boolean wrap, String certFile, String keyFile, boolean tlsRequired) {
        return config("127.0.0.1", port, wrap, certFile, keyFile, tlsRequired);
    }

    private static Gateway.Config config(String host, int port, boolean wrap, String certFile, String keyFile,
                                         boolean tlsRequired) {
        return new Gateway.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return Gateway.Config.class;
            }

            @Override
            public String gateway_host() {
                return host;
            }

            @Override
            public int gateway_port() {
                return port;
            }

            @Override
            public String gateway_advertised__host() {
                return "";
            }

            @Override
            public boolean gateway_autocommit__wrap() {
                return wrap;
            }

            @Override
            public int gateway_threads() {
                return 1;
            }

            @Override
            public String gateway_tls_cert__file() {
                return certFile;
            }

            @Override
            public String gateway_tls_key__file() {
                return keyFile;
            }

            @Override
            public boolean gateway_tls_required() {
                return tlsRequired;
            }

            @Override
            public String gateway_tls_client__ca__file() {
                return "";
            }

            @Override
            public String gateway_tls_clientcert() {
                return "none";
            }

            @Override
            public String gateway_tls_crl__file() {
                return "";
            }

            @Override
            public int gateway_max__connections() {
                return 1000;
            }

            @Override
            public long gateway_startup__timeout__ms() {
                return 60000;
            }

            @Override
            public int gateway_max__message__bytes() {
                return 0x3fffffff;
            }
        };
    }

    private static Gateway.Multimaster multimaster(boolean breakConnection) {
        return new Gateway.Multimaster() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return Gateway.Multimaster.class;
            }

            @Override
            public boolean break__connection() {
                return breakConnection;
            }
        };
    }

    private static void await(String what, Await.Check check) throws InterruptedException {
        Await.until(Duration.ofSeconds(15), what, check);
    }

    /** The real catalog, refusing the first advertisements as a database still starting would. */
    static final class FlakyCatalog implements ClusterCatalog {
        final ClusterCatalog real;
        final AtomicInteger failuresLeft = new AtomicInteger(2);

        FlakyCatalog(ClusterCatalog real) {
            this.real = real;
        }

        @Override
        public java.util.Optional<ClusterConfig> clusterConfig() {
            return real.clusterConfig();
        }

        @Override
        public void installSchema(Connection connection) throws SQLException {
            real.installSchema(connection);
        }

        @Override
        public void advertise(String service, Endpoint endpoint) throws SQLException {
            if (failuresLeft.getAndDecrement() > 0) {
                throw new SQLException("the database system is starting up", "57P03");
            }
            real.advertise(service, endpoint);
        }

        @Override
        public Map<String, Endpoint> advertisedEndpoints(Connection connection) throws SQLException {
            return real.advertisedEndpoints(connection);
        }

        @Override
        public void storeClusterConfig(Connection connection, ClusterConfig config) throws SQLException {
            real.storeClusterConfig(connection, config);
        }

        @Override
        public void notifyConfigChanged(Connection connection) throws SQLException {
            real.notifyConfigChanged(connection);
        }
    }

    /** A loaded node of a cluster that is not initialised yet (self id 0): plain PostgreSQL behaviour. */
    static FixedState notInitialised() {
        FixedState s = new FixedState();
        s.self = 0;
        return s;
    }

    static final class FixedState implements ClusterState {
        volatile int self = 1;
        volatile NodeStatus status = NodeStatus.ONLINE;
        volatile boolean loaded = true;

        @Override
        public boolean loaded() {
            return loaded;
        }

        @Override
        public int selfId() {
            return self;
        }

        @Override
        public Generation currentGeneration() {
            throw new UnsupportedOperationException();
        }

        @Override
        public NodeStatus status() {
            return status;
        }

        @Override
        public StatusReport statusReport() {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<NodeReport> nodeReports() {
            throw new UnsupportedOperationException();
        }

        @Override
        public org.mtm.api.ReplicationPlan replicationPlan() {
            return org.mtm.api.ReplicationPlan.NORMAL;
        }

        @Override
        public org.mtm.api.PrepareAdmission admitPrepare(long generation) {
            return org.mtm.api.PrepareAdmission.unchecked(org.mtm.api.PrepareAdmission.Verdict.APPLY, generation);
        }
    }

    /** Decides asynchronously like the consensus coordinator; records the calls. */
    static final class RecordingCoordinator implements Coordinator {
        final List<String> calls = new CopyOnWriteArrayList<>();
        volatile Decision next = Decision.COMMIT;

        @Override
        public Gid begin(long originXid) {
            calls.add("begin");
            return new Gid(1, originXid, 3);
        }

        @Override
        public CompletableFuture<Decision> prepared(Gid gid) {
            calls.add("prepared " + gid);
            Decision d = next;
            return CompletableFuture.supplyAsync(() -> d, CompletableFuture.delayedExecutor(10, TimeUnit.MILLISECONDS));
        }

        @Override
        public CompletableFuture<Void> committed(Gid gid) {
            calls.add("committed");
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void aborted(Gid gid) {
            calls.add("aborted");
        }
    }

    private static Map<String, Endpoint> advertised(ClusterCatalog catalog) {
        try (Connection c = PG.direct()) {
            return catalog.advertisedEndpoints(c);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    public void listensAdvertisesWithRetryAndStopsCleanly() throws Exception {
        JdbcClusterCatalog catalog = new JdbcClusterCatalog(PG.server());
        Gateway gateway = new Gateway(PG.server(), config(0, false));
        try {
            Endpoint at = gateway.endpoint();
            assertNotNull(at);
            assertTrue(at.port() > 0);
            FlakyCatalog flaky = new FlakyCatalog(catalog);
            gateway.bindCatalog(flaky);
            gateway.bindClusterState(notInitialised());
            await("the gateway endpoint in the catalog", () -> at.equals(advertised(catalog).get(ClusterCatalog.GATEWAY)));
            assertTrue(flaky.failuresLeft.get() < 0);
            try (Connection c = TestPostgres.connect(at); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
            // a change of the gateway keys restarts the listener elsewhere; other keys leave it alone
            gateway.modified(config(0, false), multimaster(false));
            assertEquals(at, gateway.endpoint());
            gateway.modified(config(0, true), multimaster(false));
            Endpoint moved = gateway.endpoint();
            assertNotEquals(at, moved);
            await("the new endpoint in the catalog", () -> moved.equals(advertised(catalog).get(ClusterCatalog.GATEWAY)));

            Connection open = TestPostgres.connect(moved);
            gateway.deactivate();
            SQLException e = assertThrows(SQLException.class, () -> open.createStatement().execute("SELECT 1"));
            assertTrue(e.getSQLState(), e.getSQLState().startsWith("57P01") || e.getSQLState().startsWith("08"));
            open.close();
            assertThrows(SQLException.class, () -> TestPostgres.connect(moved));
        } finally {
            gateway.deactivate();
            catalog.deactivate();
        }
    }

    @Test
    public void aGatewayBeyondTheLoopbackRefusesToFrontAServerThatTrustsTheLoopback() throws Exception {
        // PG trusts the loopback (an external server set up so): on 0.0.0.0 every client would get in as any user
        IllegalStateException open = assertThrows(IllegalStateException.class,
                () -> new Gateway(PG.server(), config("0.0.0.0", 0, false, "", "", false)));
        assertTrue(open.getMessage(), open.getMessage().contains("gateway.host = 0.0.0.0 is not a loopback address")
                && open.getMessage().contains("without a password (trust)") && open.getMessage().contains("scram-sha-256"));

        // with a password (scram-sha-256 on the loopback too) it listens
        Gateway gateway = new Gateway(GUARDED.server(), config("0.0.0.0", 0, false, "", "", false));
        try {
            assertTrue("listening beyond the loopback", gateway.endpoint().port() > 0);
        } finally {
            gateway.deactivate();
        }
    }

    @Test
    public void tlsKeysApplyToNewConnectionsWithoutRestartingTheGateway() throws Exception {
        Path dir = Files.createTempDirectory("mtm-gateway-tls-");
        TestCertificates.Authority ca = TestCertificates.authority(dir, "ca");
        TestCertificates.Issued cert = ca.issueLocal("gateway");
        IllegalArgumentException noCert = assertThrows(IllegalArgumentException.class,
                () -> new Gateway(PG.server(), config(0, false, "", "", true)));
        assertTrue(noCert.getMessage(), noCert.getMessage().contains("gateway.tls.cert_file"));

        Gateway gateway = new Gateway(PG.server(), config(0, false));
        gateway.bindClusterState(notInitialised());
        try (Connection before = TestPostgres.connect(gateway.endpoint(), "sslmode", "disable")) {
            Endpoint at = gateway.endpoint();
            SQLException noTls = assertThrows(SQLException.class,
                    () -> TestPostgres.connect(at, "sslmode", "require").close());
            assertTrue(noTls.getMessage(), noTls.getMessage().contains("does not support SSL"));

            gateway.modified(config(0, false, cert.cert().toString(), cert.key().toString(), true), multimaster(false));
            assertEquals("the listener stays", at, gateway.endpoint());
            try (Statement st = before.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                assertTrue("the session opened before goes on", rs.next());
            }
            try (Connection c = TestPostgres.connect(at, "sslmode", "verify-full", "sslrootcert", ca.cert().toString())) {
                assertTrue(c.isValid(5));
            }
            SQLException plain = assertThrows(SQLException.class,
                    () -> TestPostgres.connect(at, "sslmode", "disable").close());
            assertEquals("28000", plain.getSQLState());

            // an incomplete change is refused (logged) and the previous TLS settings stay
            gateway.modified(config(0, false, cert.cert().toString(), "", false), multimaster(false));
            assertEquals("28000", assertThrows(SQLException.class,
                    () -> TestPostgres.connect(at, "sslmode", "disable").close()).getSQLState());
        } finally {
            gateway.deactivate();
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    public void commitsGoThroughTheCoordinatorOnceTheClusterIsInitialised() throws Exception {
        Gateway gateway = new Gateway(PG.server(), config(0, false));
        FixedState state = new FixedState();
        RecordingCoordinator coordinator = new RecordingCoordinator();
        try (Connection d = PG.direct(); Statement ds = d.createStatement()) {
            ds.execute("CREATE TABLE IF NOT EXISTS c (id int)");
            ds.execute("TRUNCATE c");
        }
        try (Connection c = TestPostgres.connect(gateway.endpoint()); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            // not initialised: local commit
            state.self = 0;
            gateway.bindClusterState(state);
            st.executeUpdate("INSERT INTO c VALUES (1)");
            c.commit();
            // initialised, but no coordinator running: a write commit is refused, a read-only one is fine
            state.self = 1;
            st.executeUpdate("INSERT INTO c VALUES (2)");
            SQLException refused = assertThrows(SQLException.class, c::commit);
            assertEquals("57P03", refused.getSQLState());
            assertTrue(refused.getMessage().contains("commit coordinator"));
            st.executeQuery("SELECT 1").close();
            c.commit();
            // with the coordinator: PREPARE, decision, COMMIT PREPARED
            gateway.bindCoordinator(coordinator);
            st.executeUpdate("INSERT INTO c VALUES (3)");
            c.commit();
            assertEquals(List.of("begin", coordinator.calls.get(1), "committed"), coordinator.calls);
            assertTrue(coordinator.calls.get(1).startsWith("prepared MTM-1-"));
            coordinator.next = Coordinator.Decision.abort("40P01", "deadlock between nodes 1 and 2");
            st.executeUpdate("INSERT INTO c VALUES (4)");
            SQLException aborted = assertThrows(SQLException.class, c::commit);
            assertEquals("40P01", aborted.getSQLState());
            assertEquals("aborted", coordinator.calls.get(coordinator.calls.size() - 1));
            // not online: refused before anything reaches the coordinator
            state.status = NodeStatus.ISOLATED;
            assertEquals("57P03", assertThrows(SQLException.class, () -> st.executeQuery("SELECT 1")).getSQLState());
            c.rollback();
            gateway.unbindCoordinator(coordinator);
            gateway.unbindClusterState(state);
        } finally {
            gateway.deactivate();
        }
        try (Connection d = PG.direct(); Statement ds = d.createStatement();
             ResultSet rs = ds.executeQuery("SELECT string_agg(id::text, ',' ORDER BY id), "
                     + "(SELECT count(*) FROM pg_prepared_xacts) FROM c")) {
            rs.next();
            assertEquals("1,3", rs.getString(1));
            assertEquals(0, rs.getInt(2));
        }
    }

    /** Records mtm.init_cluster requests; refuses the ones for a node already in a cluster. */
    static final class RecordingAdministration implements ClusterAdministration {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override
        public ClusterConfig initCluster(String myConninfo, List<String> peerConninfos) throws ClusterAdminException {
            calls.add(myConninfo + " " + peerConninfos);
            if (peerConninfos.contains("host=taken")) {
                throw new ClusterAdminException("55000", "node 2 (host=taken) already belongs to another cluster");
            }
            List<ClusterNode> nodes = new java.util.ArrayList<>();
            nodes.add(new ClusterNode(1, myConninfo, new Endpoint("127.0.0.1", 1)));
            for (int i = 0; i < peerConninfos.size(); i++) {
                nodes.add(new ClusterNode(i + 2, peerConninfos.get(i), new Endpoint("127.0.0.1", i + 2)));
            }
            return new ClusterConfig(1, nodes);
        }
    }

    @Test
    public void initClusterAndAlterSequencesCallTheNodesServices() throws Exception {
        Gateway gateway = new Gateway(PG.server(), config(0, true));
        RecordingAdministration admin = new RecordingAdministration();
        gateway.bindClusterState(notInitialised());
        try (Connection c = TestPostgres.connect(gateway.endpoint()); Statement st = c.createStatement()) {
            // not bound yet: the call says what is missing
            assertEquals("55000", assertThrows(SQLException.class,
                    () -> st.execute("SELECT mtm.init_cluster('host=me', '{host=p2}')")).getSQLState());
            gateway.bindAdministration(admin);
            st.execute("CREATE EXTENSION IF NOT EXISTS multimaster");
            try (ResultSet rs = st.executeQuery("SELECT mtm.init_cluster('host=me', '{\"host=p2\", host=p3}')")) {
                assertTrue(rs.next());
                assertEquals("", rs.getString(1));
            }
            SQLException taken = assertThrows(SQLException.class,
                    () -> st.execute("SELECT * FROM mtm.init_cluster('host=me', ARRAY['host=taken'])"));
            assertEquals("55000", taken.getSQLState());
            assertTrue(taken.getMessage(), taken.getMessage().contains("already belongs to another cluster"));
            gateway.bindSequences(() -> 0);
            try (ResultSet rs = st.executeQuery("SELECT mtm.alter_sequences()")) {
                assertTrue(rs.next());
                assertTrue(rs.getBoolean(1));
            }
            assertEquals("All found sequences have proper params.", st.getWarnings().getMessage());
        } finally {
            gateway.deactivate();
        }
        assertEquals(List.of("host=me [host=p2, host=p3]", "host=me [host=taken]"), admin.calls);
    }

    @Test
    public void autocommitWorkIsWrappedOnceTheClusterIsInitialised() throws Exception {
        Gateway gateway = new Gateway(PG.server(), config(0, true)); // gateway.autocommit_wrap: true (the default)
        FixedState state = new FixedState();
        RecordingCoordinator coordinator = new RecordingCoordinator();
        try (Connection d = PG.direct(); Statement ds = d.createStatement()) {
            ds.execute("CREATE TABLE IF NOT EXISTS w (id int)");
            ds.execute("TRUNCATE w");
        }
        try (Connection c = TestPostgres.connect(gateway.endpoint()); Statement st = c.createStatement()) {
            gateway.bindCoordinator(coordinator);
            state.self = 0;
            gateway.bindClusterState(state);
            st.executeUpdate("INSERT INTO w VALUES (1)"); // before init_cluster: a plain relay, committed locally
            assertEquals(List.of(), coordinator.calls);
            state.self = 1;
            st.executeUpdate("INSERT INTO w VALUES (2)");
            assertEquals(3, coordinator.calls.size()); // begin, prepared, committed
            st.executeQuery("SELECT count(*) FROM w").close(); // read-only: no cluster round trip
            st.execute("SHOW work_mem");
            assertEquals(3, coordinator.calls.size());
            try (Statement simple = TestPostgres.connect(gateway.endpoint(), props("preferQueryMode", "simple"))
                    .createStatement()) {
                simple.execute("INSERT INTO w VALUES (3); INSERT INTO w VALUES (4)");
                simple.getConnection().close();
            }
            assertEquals(6, coordinator.calls.size());
        } finally {
            gateway.deactivate();
        }
        try (Connection d = PG.direct(); Statement ds = d.createStatement();
             ResultSet rs = ds.executeQuery("SELECT count(*) FROM w")) {
            rs.next();
            assertEquals(4, rs.getInt(1));
        }
    }

    /**
     * Issue 7, mechanism 2: a restarted node whose ClusterState is not bound or not loaded yet admitted everything
     * and committed locally (it looked "not initialised"): acknowledged writes that bypassed the cluster. Now it
     * refuses work (mtm_admin aside) and never commits replicated changes locally, not even an admin's.
     */
    @Test
    public void aNodeThatDoesNotKnowItsClusterStateAdmitsNoWorkAndCommitsNothingLocally() throws Exception {
        Gateway gateway = new Gateway(PG.server(), config(0, true));
        RecordingCoordinator coordinator = new RecordingCoordinator();
        try (Connection d = PG.direct(); Statement ds = d.createStatement()) {
            ds.execute("CREATE TABLE IF NOT EXISTS u (id int)");
            ds.execute("TRUNCATE u");
        }
        gateway.bindCoordinator(coordinator);
        try (Connection user = TestPostgres.connect(gateway.endpoint()); Statement us = user.createStatement();
             Connection admin = TestPostgres.connect(gateway.endpoint(), props("ApplicationName", "mtm_admin"));
             Statement as = admin.createStatement()) {
            // no ClusterState (the consensus bundle starting or being updated)
            SQLException noState = assertThrows(SQLException.class, () -> us.executeQuery("SELECT 1"));
            assertEquals("57P03", noState.getSQLState());
            assertTrue(noState.getMessage(), noState.getMessage().contains("cluster state service is not running"));
            as.executeQuery("SELECT 1").close(); // administration is allowed...
            SQLException adminWrite = assertThrows(SQLException.class, () -> as.executeUpdate("INSERT INTO u VALUES (1)"));
            assertEquals("57P03", adminWrite.getSQLState()); // ...but its writes do not bypass the cluster
            // bound, not loaded yet (just restarted)
            FixedState state = new FixedState();
            state.loaded = false;
            state.self = 0; // what an unloaded state says: it must not pass for "not initialised"
            gateway.bindClusterState(state);
            SQLException starting = assertThrows(SQLException.class, () -> us.executeUpdate("INSERT INTO u VALUES (2)"));
            assertEquals("57P03", starting.getSQLState());
            assertTrue(starting.getMessage(), starting.getMessage().contains(
                    "[multimaster] node is starting: its cluster state is not loaded yet"));
            assertEquals("57P03", assertThrows(SQLException.class,
                    () -> as.executeUpdate("INSERT INTO u VALUES (3)")).getSQLState());
            admin.setAutoCommit(false);
            as.executeUpdate("INSERT INTO u VALUES (4)");
            assertEquals("57P03", assertThrows(SQLException.class, admin::commit).getSQLState());
            // loaded, initialised, online: through the coordinator; the state unbound before the commit refuses it
            state.self = 1;
            state.loaded = true;
            as.executeUpdate("INSERT INTO u VALUES (5)");
            admin.commit();
            as.executeUpdate("INSERT INTO u VALUES (6)");
            gateway.unbindClusterState(state);
            assertEquals("57P03", assertThrows(SQLException.class, admin::commit).getSQLState());
            assertEquals(List.of("begin", coordinator.calls.get(1), "committed"), coordinator.calls);
        } finally {
            gateway.deactivate();
        }
        try (Connection d = PG.direct(); Statement ds = d.createStatement();
             ResultSet rs = ds.executeQuery("SELECT string_agg(id::text, ',' ORDER BY id) FROM u")) {
            rs.next();
            assertEquals("5", rs.getString(1));
        }
    }

    /** Karaf shutting down: the gateway ends its sessions with 57P01 before transport and consensus stop. */
    @Test
    public void frameworkShutdownStopsTheGatewayFirstAndForGood() throws Exception {
        Gateway gateway = new Gateway(PG.server(), config(0, false));
        gateway.bindClusterState(notInitialised());
        Endpoint at = gateway.endpoint();
        try (Connection c = TestPostgres.connect(at); Statement st = c.createStatement()) {
            st.executeQuery("SELECT 1").close();
            gateway.frameworkStopping();
            SQLException e = assertThrows(SQLException.class, () -> st.executeQuery("SELECT 1"));
            assertTrue(e.getSQLState(), e.getSQLState().startsWith("57P01") || e.getSQLState().startsWith("08"));
            assertThrows(SQLException.class, () -> TestPostgres.connect(at));
            gateway.modified(config(0, true), multimaster(true)); // a configuration change meanwhile does not bring it back
            assertEquals(null, gateway.endpoint());
        } finally {
            gateway.deactivate();
        }
    }

    private static java.util.Properties props(String... kv) {
        java.util.Properties p = new java.util.Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    @Test
    public void statusQueriesAnswerWhileTheNodeIsNotOnline() throws Exception {
        JdbcClusterCatalog catalog = new JdbcClusterCatalog(PG.server());
        try (Connection d = PG.direct()) {
            catalog.installSchema(d);
        }
        Gateway gateway = new Gateway(PG.server(), config(0, true));
        FixedState state = new FixedState();
        state.status = NodeStatus.DISABLED;
        gateway.bindClusterState(state);
        try (Connection c = TestPostgres.connect(gateway.endpoint()); Statement st = c.createStatement()) {
            SQLException refused = assertThrows(SQLException.class, () -> st.executeQuery("SELECT 1"));
            assertEquals("57P03", refused.getSQLState());
            assertTrue(refused.getMessage().contains("current status is \"disabled\""));
            // mtm.status() reaches PostgreSQL: here it answers that no mtm node refreshes its view (55000)
            SQLException status = assertThrows(SQLException.class, () -> st.executeQuery("SELECT * FROM mtm.status()"));
            assertEquals("55000", status.getSQLState());
            assertEquals("55000", assertThrows(SQLException.class,
                    () -> st.executeQuery("SELECT id, conninfo FROM mtm.nodes() ORDER BY id")).getSQLState());
            assertEquals("57P03", assertThrows(SQLException.class,
                    () -> st.executeQuery("SELECT * FROM mtm.status(), pg_class")).getSQLState());
        } finally {
            gateway.deactivate();
            catalog.deactivate();
        }
    }

    @Test
    public void theGatewayMakesTheFootprintFunctionsOnItsServerAndItsSessionsCallThem() throws Exception {
        JdbcClusterCatalog catalog = new JdbcClusterCatalog(PG.server());
        try (Connection d = PG.direct()) {
            catalog.installSchema(d);
        }
        Gateway gateway = new Gateway(PG.server(), config(0, true));
        try {
            // made on the gateway's background thread right after activation
            org.mtm.testing.Await.until(30_000, "the sessions call the footprint functions",
                    () -> gateway.footprintQueries().usesRoutines());
            assertEquals("SELECT * FROM mtm.gateway_footprint(true)", gateway.footprintQueries().quick());
            try (Connection d = PG.direct(); Statement st = d.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("SELECT obj_description('mtm.gateway_footprint(boolean)'"
                         + "::regprocedure, 'pg_proc'), obj_description('mtm.gateway_footprint_locks()'::regprocedure, 'pg_proc')")) {
                assertTrue(rs.next());
                assertTrue(rs.getString(1), rs.getString(1).startsWith("mtm gateway footprint "));
                assertEquals(rs.getString(1), rs.getString(2));
            }
        } finally {
            gateway.deactivate();
            catalog.deactivate();
        }
    }

    /** A coordinator that holds every commit decision until the test releases it. */
    static final class HeldCoordinator implements Coordinator {
        final List<String> calls = new CopyOnWriteArrayList<>();
        final CompletableFuture<Decision> decision = new CompletableFuture<>();

        @Override
        public Gid begin(long originXid) {
            calls.add("begin");
            return new Gid(1, originXid, 3);
        }

        @Override
        public CompletableFuture<Decision> prepared(Gid gid) {
            calls.add("prepared");
            return decision;
        }

        @Override
        public CompletableFuture<Void> committed(Gid gid) {
            calls.add("committed");
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void aborted(Gid gid) {
            calls.add("aborted");
        }
    }

    /** The FATAL break_connection sends, as the next statement of an ended session sees it. */
    private static void assertBroken(Statement st, String status) {
        SQLException e = assertThrows(SQLException.class, () -> st.executeQuery("SELECT 1"));
        assertEquals(e.getMessage(), "57P01", e.getSQLState());
        assertTrue(e.getMessage(), e.getMessage().contains("FATAL: [multimaster] terminating connection because node 1 left the "
                + "cluster: current status is \"" + status + "\" (break_connection = true)"));
    }

    @Test
    public void breakConnectionEndsEveryClientSessionButMtmAdminOnesWhenTheNodeLeavesOnline() throws Exception {
        Gateway gateway = new Gateway(PG.server(), config(0, false), multimaster(true));
        FixedState state = new FixedState();
        gateway.bindClusterState(state);
        try (Connection user = TestPostgres.connect(gateway.endpoint()); Statement us = user.createStatement();
             Connection admin = TestPostgres.connect(gateway.endpoint(), props("ApplicationName", "mtm_admin"));
             Statement as = admin.createStatement()) {
            us.executeQuery("SELECT 1").close();
            await("the watch saw the node online", () -> gateway.statusSeen() == NodeStatus.ONLINE);
            state.status = NodeStatus.ISOLATED;
            await("the plain session ended", () -> gateway.sessionCount() == 1);
            assertBroken(us, "isolated");
            as.executeQuery("SELECT 1").close(); // the mtm_admin session stays, and may still read
            // sessions opened while the node is not online stay, and are refused as without break_connection
            try (Connection late = TestPostgres.connect(gateway.endpoint()); Statement ls = late.createStatement()) {
                Await.holds(3 * Gateway.STATUS_WATCH_MILLIS, "the late session stays", () -> gateway.sessionCount() == 2);
                assertEquals("57P03", assertThrows(SQLException.class, () -> ls.executeQuery("SELECT 1")).getSQLState());
            }
        } finally {
            gateway.deactivate();
        }
    }

    @Test
    public void withoutBreakConnectionSessionsStayAndAreRefusedAndTheSettingAppliesLive() throws Exception {
        Gateway gateway = new Gateway(PG.server(), config(0, false), multimaster(false));
        FixedState state = new FixedState();
        gateway.bindClusterState(state);
        try (Connection user = TestPostgres.connect(gateway.endpoint()); Statement us = user.createStatement()) {
            us.executeQuery("SELECT 1").close();
            await("the watch saw the node online", () -> gateway.statusSeen() == NodeStatus.ONLINE);
            state.status = NodeStatus.ISOLATED;
            await("the watch saw the node isolated", () -> gateway.statusSeen() == NodeStatus.ISOLATED);
            Await.holds(3 * Gateway.STATUS_WATCH_MILLIS, "the session stays", () -> gateway.sessionCount() == 1);
            SQLException refused = assertThrows(SQLException.class, () -> us.executeQuery("SELECT 1"));
            assertEquals("57P03", refused.getSQLState());
            assertTrue(refused.getMessage(), refused.getMessage().contains("current status is \"isolated\""));
            state.status = NodeStatus.ONLINE;
            us.executeQuery("SELECT 1").close(); // the same session works again

            gateway.modified(config(0, false), multimaster(true)); // applied live, the listener unchanged
            await("the watch saw the node online", () -> gateway.statusSeen() == NodeStatus.ONLINE);
            state.status = NodeStatus.DISABLED;
            await("the session ended", () -> gateway.sessionCount() == 0);
            assertBroken(us, "disabled");
        } finally {
            gateway.deactivate();
        }
    }

    @Test
    public void breakConnectionLetsACommitUnderWayFinishBeforeItEndsTheSession() throws Exception {
        Gateway gateway = new Gateway(PG.server(), config(0, false), multimaster(true));
        FixedState state = new FixedState();
        HeldCoordinator coordinator = new HeldCoordinator();
        gateway.bindClusterState(state);
        gateway.bindCoordinator(coordinator);
        try (Connection d = PG.direct(); Statement ds = d.createStatement()) {
            ds.execute("CREATE TABLE IF NOT EXISTS b (id int)");
            ds.execute("TRUNCATE b");
        }
        try (Connection committing = TestPostgres.connect(gateway.endpoint()); Statement cs = committing.createStatement();
             Connection idle = TestPostgres.connect(gateway.endpoint()); Statement is = idle.createStatement()) {
            committing.setAutoCommit(false);
            cs.executeUpdate("INSERT INTO b VALUES (1)");
            await("the watch saw the node online", () -> gateway.statusSeen() == NodeStatus.ONLINE);
            CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
                try {
                    committing.commit();
                } catch (SQLException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            await("the commit waits for its decision", () -> coordinator.calls.contains("prepared"));
            state.status = NodeStatus.ISOLATED;
            await("the idle session ended", () -> gateway.sessionCount() == 1);
            assertBroken(is, "isolated");
            Await.holds(3 * Gateway.STATUS_WATCH_MILLIS, "the committing session waits for its outcome",
                    () -> !commit.isDone() && gateway.sessionCount() == 1);

            coordinator.decision.complete(Coordinator.Decision.COMMIT);
            commit.get(15, TimeUnit.SECONDS); // the client learns that its commit succeeded...
            await("then its session ended", () -> gateway.sessionCount() == 0);
            assertBroken(cs, "isolated");
            assertEquals(List.of("begin", "prepared", "committed"), coordinator.calls);
        } finally {
            gateway.deactivate();
        }
        try (Connection d = PG.direct(); Statement ds = d.createStatement();
             ResultSet rs = ds.executeQuery("SELECT (SELECT count(*) FROM b WHERE id = 1), (SELECT count(*) FROM pg_prepared_xacts)")) {
            rs.next();
            assertEquals("the commit took effect", 1, rs.getInt(1));
            assertEquals("nothing left prepared", 0, rs.getInt(2));
        }
    }
}
