package org.mtm.consensus.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.consensus.internal.resolver.Acceptor;
import org.mtm.consensus.internal.resolver.AcceptorState;
import org.mtm.consensus.internal.resolver.AcceptorStore;
import org.mtm.consensus.internal.resolver.Proposal;
import org.mtm.consensus.internal.resolver.Term;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterNode;
import org.mtm.api.Endpoint;
import org.mtm.api.Generation;
import org.mtm.api.LocalDatabase;
import org.mtm.api.Gid;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.ReceiverMode;
import org.mtm.api.StatusReport;
import org.mtm.postgres.internal.JdbcClusterCatalog;
import org.mtm.postgres.internal.ManagedPostgres;
import org.mtm.postgres.internal.TestDirs;
import org.mtm.testing.Await;

/** The consensus bundle's durable and published state against a real PostgreSQL with schema mtm. */
public class SchemaStateTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;
    private static JdbcClusterCatalog catalog;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.startSmallServer();
        catalog = new JdbcClusterCatalog(pg);
    }

    @AfterClass
    public static void stop() {
        if (catalog != null) {
            catalog.deactivate();
        }
    }

    @Test
    public void statusAndNodesFunctionsAnswerWithTheManualsColumns() throws SQLException {
        NodeSet all = NodeSet.of(1, 2, 3);
        StatusReport s = new StatusReport(2, NodeStatus.ONLINE, all, 1, all, all, all);
        List<NodeReport> nodes = List.of(
            new NodeReport(1, "port=5001", false, true, true, 4242, 4343, 0, ReceiverMode.NORMAL),
            new NodeReport(2, "port=5002", true, true, true, null, null, 0, null),
            new NodeReport(3, "port=5003", false, true, false, null, null, 0, ReceiverMode.DISABLED));
        try (Connection c = pg.connect()) {
            LiveStatusWriter.write(c, s, nodes, null);
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM mtm.status()")) {
                assertEquals(List.of("my_node_id", "status", "connected", "gen_num", "gen_members", "gen_members_online",
                    "gen_configured"), columns(rs));
                assertTrue(rs.next());
                assertEquals(2, rs.getInt("my_node_id"));
                assertEquals("online", rs.getString("status"));
                assertEquals("{1,2,3}", rs.getString("connected"));
                assertEquals(1L, rs.getLong("gen_num"));
                assertFalse(rs.next());
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM mtm.nodes()")) {
                assertEquals(List.of("id", "conninfo", "is_self", "enabled", "connected", "sender_pid", "receiver_pid",
                    "n_workers", "receiver_mode"), columns(rs));
                assertTrue(rs.next());
                assertEquals(4242, rs.getInt("sender_pid"));
                assertEquals("normal", rs.getString("receiver_mode"));
                assertTrue(rs.next());
                assertTrue(rs.getBoolean("is_self"));
                assertNull(rs.getObject("sender_pid"));
                assertTrue(rs.next());
                assertFalse(rs.getBoolean("connected"));
                assertFalse(rs.next());
            }
            // a second write replaces the view rather than adding to it
            LiveStatusWriter.write(c, new StatusReport(2, NodeStatus.ISOLATED, NodeSet.of(1, 2), 1, all, NodeSet.of(1, 2), all),
                nodes.subList(0, 2), new org.mtm.api.RefereeReport("host=r dbname=mydb", false, 0, 0, "connection refused"));
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT status, connected, (SELECT count(*) FROM mtm.nodes()) FROM mtm.status()")) {
                assertTrue(rs.next());
                assertEquals("isolated", rs.getString(1));
                assertEquals("{1,2}", rs.getString(2));
                assertEquals(2, rs.getInt(3));
            }
            // the referee of a 2+1 cluster: unreachable, then reachable with a grant, then none configured
            try (Statement st = c.createStatement()) {
                try (ResultSet rs = st.executeQuery("SELECT referee_connstring, reachable, grant_node, problem FROM mtm.referee_status()")) {
                    assertTrue(rs.next());
                    assertEquals("host=r dbname=mydb", rs.getString(1));
                    assertFalse(rs.getBoolean(2));
                    assertEquals(null, rs.getObject(3));
                    assertEquals("connection refused", rs.getString(4));
                }
                LiveStatusWriter.write(c, new StatusReport(2, NodeStatus.ONLINE, NodeSet.of(2), 3, NodeSet.of(2), NodeSet.of(2), all),
                    nodes.subList(0, 2), new org.mtm.api.RefereeReport("host=r dbname=mydb", true, 2, 3, ""));
                try (ResultSet rs = st.executeQuery("SELECT reachable, grant_node, grant_gen, problem FROM mtm.referee_status()")) {
                    assertTrue(rs.next());
                    assertTrue(rs.getBoolean(1));
                    assertEquals(2, rs.getInt(2));
                    assertEquals(3, rs.getLong(3));
                    assertEquals(null, rs.getString(4));
                }
                LiveStatusWriter.write(c, new StatusReport(2, NodeStatus.ONLINE, NodeSet.of(1, 2), 4, all, all, all),
                    nodes.subList(0, 2), null);
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM mtm.referee_status()")) {
                    assertTrue(rs.next());
                    assertEquals(0, rs.getInt(1));
                }
            }
        }
    }

    /**
     * A view neither written nor confirmed by its writer's statements for 5 s: the node stopped refreshing it (its
     * Karaf hangs, the connection open).
     */
    @Test
    public void staleViewMeansNoNodeIsRunning() throws SQLException {
        try (Connection writer = pg.connect(); Connection reader = pg.connect(); Statement st = reader.createStatement()) {
            LiveStatusWriter.write(writer, new StatusReport(0, NodeStatus.DISABLED, NodeSet.EMPTY, 0, NodeSet.EMPTY,
                NodeSet.EMPTY, NodeSet.EMPTY), List.of(), null);
            st.execute("UPDATE mtm.live_status SET updated_at = now() - interval '1 minute'");
            AtomicReference<SQLException> refused = new AtomicReference<>();
            Await.until(Duration.ofSeconds(15), "mtm.status() refusing a view its writer stopped refreshing", () -> {
                try {
                    st.executeQuery("SELECT * FROM mtm.status()").close();
                    return false;
                } catch (SQLException e) {
                    refused.set(e);
                    return true;
                }
            });
            assertEquals("55000", refused.get().getSQLState());
            assertTrue(refused.get().getMessage(), refused.get().getMessage().contains("no mtm node is running"));
        }
    }

    @Test
    public void viewWhoseWriterIsGoneMeansNoNodeIsRunningAtOnce() throws Exception {
        try (Connection writer = pg.connect()) {
            LiveStatusWriter.write(writer, new StatusReport(1, NodeStatus.ONLINE, NodeSet.of(1), 1, NodeSet.of(1),
                NodeSet.of(1), NodeSet.of(1)), List.of(), null);
            try (Connection reader = pg.connect(); Statement st = reader.createStatement();
                 ResultSet rs = st.executeQuery("SELECT status FROM mtm.status()")) {
                assertTrue(rs.next());
                assertEquals("online", rs.getString(1));
            }
        } // the node's Karaf died: its publishing connection with it
        try (Connection reader = pg.connect(); Statement st = reader.createStatement()) {
            AtomicReference<SQLException> refused = new AtomicReference<>();
            // well inside the 5 s freshness interval; the writer's backend exits a moment after its socket closed
            Await.until(Duration.ofSeconds(4), "mtm.status() refusing once the view's writer is gone", () -> {
                try {
                    st.executeQuery("SELECT * FROM mtm.status()").close();
                    return false;
                } catch (SQLException e) {
                    refused.set(e);
                    return true;
                }
            });
            assertEquals("55000", refused.get().getSQLState());
            assertTrue(refused.get().getMessage(), refused.get().getMessage().contains("no mtm node is running"));
        }
    }

    private static final ClusterConfig CONFIG = new ClusterConfig(1, List.of(new ClusterNode(1, "port=1", new Endpoint("127.0.0.1", 1)),
        new ClusterNode(2, "port=2", new Endpoint("127.0.0.1", 2)), new ClusterNode(3, "port=3", new Endpoint("127.0.0.1", 3))));

    @Test
    public void aStartingStatusServicePublishesOnlyTheLoadedState() throws Exception {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            catalog.storeClusterConfig(c, CONFIG); // (idempotent: other tests store the same)
            st.execute("DELETE FROM mtm.live_status");
        }
        ClusterStateService service = new ClusterStateService(pg, new GenerationGate());
        Thread loader;
        try {
            try (Connection locker = pg.connect(); Statement ls = locker.createStatement()) {
                locker.setAutoCommit(false);
                ls.execute("LOCK TABLE mtm.generation_state IN ACCESS EXCLUSIVE MODE"); // the state loads slowly
                loader = new Thread(() -> service.clusterConfigChanged(Optional.of(CONFIG))); // as the catalog calls it
                loader.start();
                // a restarted consensus bundle once published "node 0, generation 0" before its state was loaded:
                // generations seemed to go backwards
                String duringLoad = firstView(Duration.ofSeconds(2));
                assertNull("published before the state was loaded: " + duringLoad, duringLoad);
                locker.commit();
            }
            loader.join(10_000);
            assertEquals("the first view published", "1/1", firstView(Duration.ofSeconds(10)));
        } finally {
            service.deactivate();
        }
    }

    /** The node's database, refusing the first {@code failures} connections as a server still starting would. */
    private static LocalDatabase refusingFirst(int failures) {
        AtomicInteger left = new AtomicInteger(failures);
        return new LocalDatabase() {
            @Override
            public Connection connect() throws SQLException {
                if (left.getAndDecrement() > 0) {
                    throw new SQLException("the database system is starting up", "57P03");
                }
                return pg.connect();
            }

            @Override
            public Connection connectReplication() throws SQLException {
                return pg.connectReplication();
            }

            @Override
            public Endpoint endpoint() {
                return pg.endpoint();
            }

            @Override
            public String databaseName() {
                return pg.databaseName();
            }

            @Override
            public String userName() {
                return pg.userName();
            }

            @Override
            public String conninfo() {
                return pg.conninfo();
            }

            @Override
            public boolean isManaged() {
                return true;
            }
        };
    }

    /**
     * Issue 7: "not loaded" must not pass for "not initialised" (self id 0), and a failed first read is retried —
     * the gateway admits no work until the state is loaded.
     */
    @Test
    public void theStateIsLoadedOnlyOnceReadAndAFailedReadIsRetried() throws Exception {
        try (Connection c = pg.connect()) {
            catalog.storeClusterConfig(c, CONFIG);
        }
        ClusterStateService service = new ClusterStateService(refusingFirst(1), new GenerationGate());
        try {
            assertFalse(service.loaded());
            service.clusterConfigChanged(Optional.of(CONFIG)); // the read fails
            assertFalse(service.loaded());
            assertEquals(0, service.selfId());
            Await.until(Duration.ofSeconds(10), "the state loaded by the retry", service::loaded);
            assertEquals(1, service.selfId());
            assertEquals(1, service.currentGeneration().num());
        } finally {
            service.deactivate();
        }
        // a fresh node: loaded, and not initialised
        ClusterStateService fresh = new ClusterStateService(pg, new GenerationGate());
        try {
            fresh.clusterConfigChanged(Optional.empty());
            assertTrue(fresh.loaded());
            assertEquals(0, fresh.selfId());
        } finally {
            fresh.deactivate();
        }
    }

    /** What mtm.status() answers first within {@code timeout} (node/generation), or null. */
    private static String firstView(Duration timeout) throws SQLException {
        AtomicReference<String> view = new AtomicReference<>();
        try (Connection reader = pg.connect(); Statement st = reader.createStatement()) {
            Await.until(timeout, "a published view", () -> {
                try (ResultSet rs = st.executeQuery("SELECT my_node_id || '/' || gen_num FROM mtm.status()")) {
                    rs.next(); // (55000 until something is published: not yet)
                    view.set(rs.getString(1));
                    return true;
                }
            });
        } catch (AssertionError nothingPublished) {
            return null;
        }
        return view.get();
    }

    @Test
    public void generationStateAfterInitIsGenerationOneOfAll() throws SQLException {
        ClusterConfig cfg = CONFIG;
        try (Connection c = pg.connect()) {
            catalog.storeClusterConfig(c, cfg);
            GenerationState s = GenerationStore.load(c);
            assertEquals(new Generation(1, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3)), s.current());
            assertEquals(1, s.lastOnlineIn());
            assertEquals(1, s.lastVote());
        }
    }

    /**
     * Issue 11: the accepted change and the number it was accepted at survive a restart apart from the promise
     * (lastVote), which a change election's first phase raises alone; a row written before the column existed reads as
     * accepted at its last_vote.
     */
    @Test
    public void theAcceptedChangeAndItsNumberAreKeptApartFromThePromise() throws SQLException {
        try (Connection c = pg.connect()) {
            catalog.storeClusterConfig(c, CONFIG);
            Generation g = new Generation(1, NodeSet.of(1, 2, 3), NodeSet.of(1, 2, 3));
            GenerationState promised = new GenerationState(g, 9, 1, NodeSet.of(1, 2, 3), NodeSet.of(1, 2), 7);
            GenerationStore.save(c, promised, false);
            assertEquals(promised, GenerationStore.load(c));
            try (Statement st = c.createStatement()) {
                st.execute("UPDATE mtm.generation_state SET vote_accepted_in = NULL");
            }
            assertEquals(9, GenerationStore.load(c).votedIn());
            GenerationState released = new GenerationState(g, 9, 1, NodeSet.of(1, 2, 3), g.configured(), 0);
            GenerationStore.save(c, released, false);
            assertFalse(GenerationStore.load(c).changeVoted());
            assertEquals(0, GenerationStore.load(c).votedIn());
        }
    }

    @Test
    public void theAcceptorsPrecommitIsRecordedOnceAndDurably() throws SQLException {
        Gid gid = new Gid(3, 991, 1);
        try (Connection c = pg.connect()) {
            c.setAutoCommit(false);
            for (int i = 0; i < 2; i++) { // a re-sent request finds the same state and changes nothing
                AcceptorState before = AcceptorStore.lock(c, gid);
                Acceptor.Step step = Acceptor.precommit(before);
                assertTrue(step.granted());
                AcceptorStore.store(c, gid, step.next());
                c.commit();
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT coordinator, generation, status, accepted_ballot, accepted_node FROM mtm.transactions WHERE gid = '"
                    + gid + "'")) {
                assertTrue(rs.next());
                assertArrayEquals(new Object[] {3, 1L, "pc", 1, 0},
                    new Object[] {rs.getInt(1), rs.getLong(2), rs.getString(3), rs.getInt(4), rs.getInt(5)});
                assertFalse(rs.next());
            }
            c.commit();
            assertEquals(new AcceptorState(Term.COORDINATOR, Term.COORDINATOR, Proposal.PRECOMMIT, null), AcceptorStore.lock(c, gid));
            c.rollback();
        }
    }

    @Test
    public void theDeskReadsStateAndLocalCopyInOneQueryAndLocksTheRow() throws SQLException {
        Gid unknown = new Gid(1, 1, 1);
        Gid peers = new Gid(3, 992, 1);
        try (Connection c = pg.connect(); Connection other = pg.connect(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            assertEquals(new org.mtm.consensus.internal.resolver.Knowledge(AcceptorState.FRESH,
                org.mtm.consensus.internal.resolver.Knowledge.LocalCopy.NONE), AcceptorStore.read(c, peers, 1));
            AcceptorStore.store(c, peers, Acceptor.precommit(AcceptorState.FRESH).next());
            c.commit();
            // a prepared copy of the peer's transaction
            try (Statement o = other.createStatement()) {
                o.execute("BEGIN; SELECT 1; PREPARE TRANSACTION '" + peers + "'");
            }
            var k = AcceptorStore.read(c, peers, 1);
            assertEquals(new AcceptorState(Term.COORDINATOR, Term.COORDINATOR, Proposal.PRECOMMIT, null), k.state());
            assertEquals(org.mtm.consensus.internal.resolver.Knowledge.LocalCopy.PREPARED, k.copy());
            // the row is locked until this transaction ends
            try (Statement o = other.createStatement()) {
                o.execute("SET lock_timeout = '100ms'");
                try {
                    o.executeQuery("SELECT 1 FROM mtm.transactions WHERE gid = '" + peers + "' FOR UPDATE").close();
                    org.junit.Assert.fail("the desk's read locks the row");
                } catch (SQLException expected) {
                    assertEquals("55P03", expected.getSQLState());
                }
                c.rollback();
                o.execute("ROLLBACK PREPARED '" + peers + "'");
            }
            // this node's own transactions: by their xid's status
            long xid;
            try (ResultSet rs = st.executeQuery("SELECT pg_current_xact_id()::text::bigint")) {
                rs.next();
                xid = rs.getLong(1);
            }
            c.commit();
            assertEquals(org.mtm.consensus.internal.resolver.Knowledge.LocalCopy.COMMITTED,
                AcceptorStore.read(c, new Gid(1, xid, 1), 1).copy());
            c.rollback();
            assertEquals(org.mtm.consensus.internal.resolver.Knowledge.LocalCopy.NONE, AcceptorStore.read(c, unknown, 3).copy());
            c.rollback();
        }
    }

    @Test
    public void makeTableLocalRecordsTheTable() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE local_stuff (id int primary key)");
            st.execute("SELECT mtm.make_table_local('local_stuff')");
            st.execute("SELECT mtm.make_table_local('public.local_stuff')");
            try (ResultSet rs = st.executeQuery("SELECT rel_schema, rel_name FROM mtm.local_tables")) {
                assertTrue(rs.next());
                assertEquals("public", rs.getString(1));
                assertEquals("local_stuff", rs.getString(2));
                assertFalse(rs.next());
            }
            SQLException e = assertThrows(SQLException.class, () -> st.execute("SELECT mtm.make_table_local('nope')"));
            assertEquals("42P01", e.getSQLState());
        }
    }

    private static List<String> columns(ResultSet rs) throws SQLException {
        List<String> names = new java.util.ArrayList<>();
        for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
            names.add(rs.getMetaData().getColumnName(i));
        }
        return names;
    }
}
