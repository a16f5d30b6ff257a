package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.mtm.gateway.internal.it.RawClient.first;
import static org.mtm.gateway.internal.it.RawClient.types;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.gateway.internal.it.RawClient.Msg;
import org.mtm.gateway.internal.session.SurfaceFunctions;
import org.mtm.gateway.internal.sql.SurfaceCall;

/**
 * The SQL surface of the manual (F.31.5.2) that the gateway answers itself: CREATE EXTENSION multimaster,
 * mtm.init_cluster(...), mtm.alter_sequences(), in both protocols, as psql and pgjdbc use them. The functions
 * behind are a recording implementation of the gateway's own seam (the real ones are the admin and sequence
 * bundles' services, wired in the Gateway component).
 */
public class SurfaceThroughGatewayTest {
    /** Records the calls; fails the next one when told to. */
    static final class RecordingFunctions implements SurfaceFunctions {
        final List<String> calls = new CopyOnWriteArrayList<>();
        final AtomicReference<SurfaceCall.CallException> nextFailure = new AtomicReference<>();

        @Override
        public CompletionStage<Void> initCluster(String myConninfo, List<String> peerConninfos) {
            calls.add("init_cluster " + myConninfo + " " + peerConninfos);
            SurfaceCall.CallException e = nextFailure.getAndSet(null);
            // answered later, on another thread, as the admin service does
            return e == null ? CompletableFuture.runAsync(() -> { }) : CompletableFuture.failedFuture(e);
        }

        @Override
        public CompletionStage<Integer> alterSequences() {
            calls.add("alter_sequences");
            return CompletableFuture.completedFuture(2);
        }

        @Override
        public CompletionStage<CheckAnswer> checkQuery(String query, String role, java.util.function.Consumer<String> progress) {
            calls.add("check_query " + query + " as " + role);
            progress.accept("snapshots taken at one consistent point on nodes [1, 2]; running the query on each");
            boolean same = !query.contains("differs");
            return CompletableFuture.supplyAsync(() -> new CheckAnswer(same, same ? null
                    : "mismatch in column 'b' of row 0: 256 on node1, 255 on node2 (nodes that differ: [2])"));
        }

        @Override
        public CompletionStage<String> getSnapshots(Object owner) {
            calls.add("get_snapshots " + System.identityHashCode(owner));
            return CompletableFuture.completedFuture("1:00000003-00000002-1,2:00000004-00000007-1");
        }

        @Override
        public CompletionStage<Void> freeSnapshots(Object owner) {
            calls.add("free_snapshots " + System.identityHashCode(owner));
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletionStage<Void> dropNode(int node) {
            calls.add("drop_node " + node);
            SurfaceCall.CallException e = nextFailure.getAndSet(null);
            return e == null ? CompletableFuture.runAsync(() -> { }) : CompletableFuture.failedFuture(e);
        }

        @Override
        public CompletionStage<Boolean> ping() {
            calls.add("ping");
            SurfaceCall.CallException e = nextFailure.getAndSet(null);
            return e == null ? CompletableFuture.supplyAsync(() -> true) : CompletableFuture.failedFuture(e);
        }
    }

    private static final RecordingFunctions FUNCTIONS = new RecordingFunctions();
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG).surface(FUNCTIONS);
    private static final TestGateway BARE = new TestGateway(PG);

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW).around(BARE);

    private static final String NODE1 = "dbname=mydb user=mtmuser host=node1";
    private static final String DEMO = "SELECT mtm.init_cluster('dbname=mydb user=mtmuser host=node1',\n"
            + "'{\"dbname=mydb user=mtmuser host=node2\", \"dbname=mydb user=mtmuser host=node3\"}');";
    private static final String DEMO_CALL = "init_cluster " + NODE1
            + " [dbname=mydb user=mtmuser host=node2, dbname=mydb user=mtmuser host=node3]";

    @BeforeClass
    public static void aRealVoidFunction() throws SQLException {
        // what PostgreSQL itself answers for a void function of the same signature, to compare with
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA lookalike");
            st.execute("CREATE FUNCTION lookalike.init_cluster(my_conninfo text, peers_conninfo text[]) RETURNS void "
                    + "LANGUAGE sql AS ''");
        }
    }

    @Before
    public void reset() {
        FUNCTIONS.calls.clear();
        FUNCTIONS.nextFailure.set(null);
    }

    @Test
    public void theDemoThroughPsqlPrintsWhatPostgresPrintsForAVoidFunction() {
        Tools.Result direct = Tools.psql(PG.endpoint(), null, DEMO.replace("mtm.", "lookalike."));
        assertEquals(direct.toString(), 0, direct.exitCode());
        Tools.Result through = Tools.psql(GW.endpoint(), null, "CREATE EXTENSION multimaster;\n" + DEMO);
        assertEquals(through.toString(), 0, through.exitCode());
        assertEquals(direct.stdout(), through.stdout());
        assertEquals(List.of(DEMO_CALL), FUNCTIONS.calls);
        Tools.Result star = Tools.psql(GW.endpoint(), null,
                "SELECT * FROM mtm.init_cluster('" + NODE1 + "', ARRAY['host=node2'])");
        Tools.Result starDirect = Tools.psql(PG.endpoint(), null,
                "SELECT * FROM lookalike.init_cluster('" + NODE1 + "', ARRAY['host=node2'])");
        assertEquals(starDirect.stdout(), star.stdout());
    }

    @Test
    public void createExtensionAndCallsInAMultiStatementQuery() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query("create extension if not exists MULTIMASTER; SELECT mtm.init_cluster('" + NODE1 + "', '{a,b}');"
                    + " SELECT 42").flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("CTDCTDCZ", types(r));
            assertEquals("CREATE EXTENSION", r.get(0).text());
            assertEquals("", r.get(2).column0());
            assertEquals("42", r.get(5).column0());
        }
        assertEquals(List.of("init_cluster " + NODE1 + " [a, b]"), FUNCTIONS.calls);
    }

    @Test
    public void theServicesErrorIsTheStatementsError() throws Exception {
        FUNCTIONS.nextFailure.set(new SurfaceCall.CallException("08006",
                "[multimaster] node 2 (host=node2) is not reachable: connection refused"));
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query(DEMO).flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("EZ", types(r));
            assertEquals("08006", first(r, 'E').field('C'));
            assertTrue(first(r, 'E').field('M').contains("not reachable"));
            // a malformed array literal is the caller's error, before any service is asked
            c.query("SELECT mtm.init_cluster('" + NODE1 + "', '{a,,b}')").flush();
            assertEquals("22P02", first(c.readUntilReady(), 'E').field('C'));
            // another shape around the function: the usage, not PostgreSQL's "function does not exist"
            c.query("SELECT 1, mtm.init_cluster('a', '{b}')").flush();
            Msg e = first(c.readUntilReady(), 'E');
            assertEquals("0A000", e.field('C'));
            assertTrue(e.field('M'), e.field('M').contains("SELECT mtm.init_cluster('<conninfo of this node>'"));
            // in a failed transaction: PostgreSQL's answer, and nothing is called
            c.query("BEGIN; SELECT 1/0").flush();
            c.readUntilReady();
            c.query(DEMO).flush();
            assertEquals("25P02", first(c.readUntilReady(), 'E').field('C'));
            c.query("ROLLBACK").flush();
            c.readUntilReady();
        }
        assertEquals(List.of(DEMO_CALL), FUNCTIONS.calls);
    }

    @Test
    public void withoutTheServicesTheCallSaysWhatIsMissing() throws Exception {
        try (Connection c = TestPostgres.connect(BARE.endpoint()); Statement st = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> st.execute(DEMO));
            assertEquals("55000", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("admin bundle"));
            st.execute("CREATE EXTENSION multimaster"); // a no-op: the node installs the mtm schema itself
        }
    }

    @Test
    public void pgjdbcPreparedCallsWithParameters() throws Exception {
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "1");
        try (Connection c = TestPostgres.connect(GW.endpoint(), p)) {
            try (PreparedStatement ps = c.prepareStatement("SELECT mtm.init_cluster(?, ?)")) {
                for (int i = 0; i < 2; i++) {
                    ps.setString(1, NODE1);
                    Array peers = c.createArrayOf("text", new String[] {"host=node2", "host=node 3"});
                    ps.setArray(2, peers);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertEquals("init_cluster", rs.getMetaData().getColumnName(1));
                        assertEquals("void", rs.getMetaData().getColumnTypeName(1));
                        assertTrue(rs.next());
                        assertEquals("", rs.getString(1));
                        assertFalse(rs.next());
                    }
                }
                ps.setString(1, NODE1);
                ps.setObject(2, new String[] {"host=node4"});
                ps.executeQuery().close();
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT * FROM mtm.init_cluster(?, ARRAY[?, 'host=lit'])")) {
                ps.setString(1, NODE1);
                ps.setString(2, "host=param");
                ps.executeQuery().close();
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT mtm.alter_sequences()")) {
                assertTrue(rs.next());
                assertTrue(rs.getBoolean(1));
                SQLWarning w = st.getWarnings();
                assertTrue(String.valueOf(w), w != null && w.getMessage().contains("altered 2 sequence(s)"));
            }
            // the client's unnamed statement and portal are still its own
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 7")) {
                rs.next();
                assertEquals(7, rs.getInt(1));
            }
        }
        assertEquals(List.of(
                "init_cluster " + NODE1 + " [host=node2, host=node 3]",
                "init_cluster " + NODE1 + " [host=node2, host=node 3]",
                "init_cluster " + NODE1 + " [host=node4]",
                "init_cluster " + NODE1 + " [host=param, host=lit]",
                "alter_sequences"), FUNCTIONS.calls);
    }

    /**
     * mtm.check_query(query_text) as psql and pgjdbc send it: true, or the manual's WARNING with the first difference and
     * false; the query runs as the session's user. mtm.get_snapshots() answers the ids by node and the session's snapshots
     * are freed by mtm.free_snapshots() or, at the latest, when the session ends.
     */
    @Test
    public void checkQueryAndSnapshots() throws Exception {
        Tools.Result psql = Tools.psql(GW.endpoint(), null, "SELECT mtm.check_query('SELECT * FROM my_table ORDER BY id');\n"
                + "SELECT mtm.check_query(query_text => 'SELECT * FROM differs');");
        assertEquals(psql.toString(), 0, psql.exitCode());
        assertTrue(psql.stdout(), psql.stdout().contains(" check_query \n-------------\n t\n(1 row)"));
        assertTrue(psql.stdout(), psql.stdout().contains(" check_query \n-------------\n f\n(1 row)"));
        assertTrue(psql.toString(), psql.stderr().contains("WARNING:  mismatch in column 'b' of row 0: 256 on node1, 255 on node2"));
        // its progress as NOTICEs while it runs, as mtm:check-query prints it
        assertTrue(psql.toString(), psql.stderr().contains("NOTICE:  [multimaster] check_query: snapshots taken at one "
                + "consistent point on nodes [1, 2]; running the query on each"));

        Properties p = new Properties();
        p.setProperty("prepareThreshold", "1");
        String owner;
        try (Connection c = TestPostgres.connect(GW.endpoint(), p)) {
            String user = c.getMetaData().getUserName();
            try (PreparedStatement ps = c.prepareStatement("SELECT mtm.check_query(?)")) {
                ps.setString(1, "SELECT 1 AS differs");
                try (ResultSet rs = ps.executeQuery()) {
                    assertEquals("check_query", rs.getMetaData().getColumnName(1));
                    assertEquals("bool", rs.getMetaData().getColumnTypeName(1));
                    assertTrue(rs.next());
                    assertFalse(rs.getBoolean(1));
                    SQLWarning w = ps.getWarnings();
                    assertTrue(String.valueOf(w), w != null && w.getMessage().contains("check_query: snapshots taken"));
                    w = w.getNextWarning();
                    assertTrue(String.valueOf(w), w != null && w.getMessage().contains("(nodes that differ: [2])"));
                }
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT mtm.get_snapshots()")) {
                assertEquals("text", rs.getMetaData().getColumnTypeName(1));
                assertTrue(rs.next());
                assertEquals("1:00000003-00000002-1,2:00000004-00000007-1", rs.getString(1));
            }
            owner = FUNCTIONS.calls.get(FUNCTIONS.calls.size() - 1).substring("get_snapshots ".length());
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT mtm.free_snapshots()")) {
                assertTrue(rs.next());
            }
            try (Statement st = c.createStatement()) {
                st.executeQuery("SELECT mtm.get_snapshots()").close();
            }
            assertEquals(List.of("check_query SELECT * FROM my_table ORDER BY id as " + user,
                    "check_query SELECT * FROM differs as " + user, "check_query SELECT 1 AS differs as " + user,
                    "get_snapshots " + owner, "free_snapshots " + owner, "get_snapshots " + owner), FUNCTIONS.calls);
        }
        String freedAtEnd = "free_snapshots " + owner;
        // the session ends on the gateway's event loop after the client closed
        org.mtm.testing.Await.until(10_000, "the session's snapshots are freed when it ends",
            () -> FUNCTIONS.calls.get(FUNCTIONS.calls.size() - 1).equals(freedAtEnd));
    }

    @Test
    public void dropNodeThroughPsqlAndPgjdbc() throws Exception {
        Tools.Result psql = Tools.psql(GW.endpoint(), null, "SELECT mtm.drop_node(3);");
        assertEquals(psql.toString(), 0, psql.exitCode());
        assertTrue(psql.stdout(), psql.stdout().contains("drop_node"));
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "1");
        try (Connection c = TestPostgres.connect(GW.endpoint(), p)) {
            try (PreparedStatement ps = c.prepareStatement("SELECT mtm.drop_node(?)")) {
                ps.setInt(1, 4);
                try (ResultSet rs = ps.executeQuery()) {
                    assertEquals("void", rs.getMetaData().getColumnTypeName(1));
                    assertTrue(rs.next());
                }
            }
            FUNCTIONS.nextFailure.set(new SurfaceCall.CallException("42704", "[multimaster] node 7 is not configured"));
            try (Statement st = c.createStatement()) {
                SQLException e = assertThrows(SQLException.class, () -> st.execute("SELECT mtm.drop_node(7)"));
                assertEquals("42704", e.getSQLState());
            }
        }
        assertEquals(List.of("drop_node 3", "drop_node 4", "drop_node 7"), FUNCTIONS.calls);
    }

    @Test
    public void pingThroughPsqlAndPgjdbc() throws Exception {
        Tools.Result psql = Tools.psql(GW.endpoint(), null, "SELECT * FROM mtm.ping();");
        assertEquals(psql.toString(), 0, psql.exitCode());
        assertTrue(psql.stdout(), psql.stdout().contains("ping") && psql.stdout().contains(" t"));
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "1");
        try (Connection c = TestPostgres.connect(GW.endpoint(), p)) {
            try (PreparedStatement ps = c.prepareStatement("SELECT mtm.ping()")) {
                try (ResultSet rs = ps.executeQuery()) {
                    assertEquals("bool", rs.getMetaData().getColumnTypeName(1));
                    assertTrue(rs.next());
                    assertTrue(rs.getBoolean(1));
                }
            }
            FUNCTIONS.nextFailure.set(new SurfaceCall.CallException("55000",
                "[multimaster] mtm.ping: node 3 of generation 5 is not online: its status is \"recovery\""));
            try (Statement st = c.createStatement()) {
                SQLException e = assertThrows(SQLException.class, () -> st.execute("SELECT mtm.ping()"));
                assertEquals("55000", e.getSQLState());
                assertTrue(e.getMessage(), e.getMessage().contains("node 3 of generation 5 is not online"));
            }
        }
        assertEquals(List.of("ping", "ping", "ping"), FUNCTIONS.calls);
    }
}
