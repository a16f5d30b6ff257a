package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.AfterClass;
import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.gateway.internal.commit.CommitContext;
import org.mtm.gateway.internal.commit.CommitOutcome;
import org.mtm.gateway.internal.commit.CoordinatedCommitter;
import org.mtm.gateway.internal.commit.TransactionCommitter;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.copy.CopyManager;
import org.mtm.testing.Await;

/** pgjdbc, unmodified, through the gateway to a real PostgreSQL 15. */
public class JdbcThroughGatewayTest {
    /** Real local commits, counted: shows which commits went through the gateway's seam. */
    static final class CountingCommitter implements TransactionCommitter {
        final AtomicInteger commits = new AtomicInteger();
        private final TransactionCommitter local =
                new CoordinatedCommitter(() -> CoordinatedCommitter.Standing.NOT_INITIALISED, () -> null);

        @Override
        public java.util.concurrent.CompletionStage<CommitOutcome> commit(CommitContext tx) {
            commits.incrementAndGet();
            return local.commit(tx);
        }
    }

    private static final CountingCommitter COMMITTER = new CountingCommitter();
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG).committer(COMMITTER);
    private static final ExecutorService POOL = Executors.newCachedThreadPool();

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @AfterClass
    public static void stopPool() {
        POOL.shutdownNow();
    }

    @Before
    public void freshTable() throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS t CASCADE");
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
        }
    }

    private static Connection gw() throws SQLException {
        return TestPostgres.connect(GW.endpoint());
    }

    private static Connection gw(String key, String value) throws SQLException {
        Properties p = new Properties();
        p.setProperty(key, value);
        return TestPostgres.connect(GW.endpoint(), p);
    }

    private static long count(String sql) throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    public void autocommitStatementsAreVisibleDirectly() throws SQLException {
        try (Connection c = gw(); Statement st = c.createStatement()) {
            assertEquals(1, st.executeUpdate("INSERT INTO t VALUES (1, 'a')"));
            assertEquals(2, st.executeUpdate("INSERT INTO t VALUES (2, 'b'), (3, 'c')"));
        }
        assertEquals(3, count("SELECT count(*) FROM t"));
    }

    @Test
    public void explicitTransactionCommitsThroughTheCommitter() throws SQLException {
        int before = COMMITTER.commits.get();
        try (Connection c = gw()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO t VALUES (1, 'a')");
                st.executeUpdate("INSERT INTO t VALUES (2, 'b')");
            }
            assertEquals(0, count("SELECT count(*) FROM t"));
            c.commit();
            assertEquals(2, count("SELECT count(*) FROM t"));
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO t VALUES (3, 'c')");
            }
            c.rollback();
        }
        assertEquals(2, count("SELECT count(*) FROM t"));
        assertEquals(before + 1, COMMITTER.commits.get());
    }

    @Test
    public void simpleProtocolCommitAndMultiStatementQueries() throws SQLException {
        int before = COMMITTER.commits.get();
        try (Connection c = gw("preferQueryMode", "simple"); Statement st = c.createStatement()) {
            st.execute("BEGIN; INSERT INTO t VALUES (1, 'x;y'); INSERT INTO t VALUES (2, $$;$$); COMMIT; "
                    + "INSERT INTO t VALUES (3, 'after')");
            assertEquals(3, count("SELECT count(*) FROM t"));
            st.execute("BEGIN");
            st.execute("INSERT INTO t VALUES (4, 'd')");
            st.execute("END");
            // the implicit block of a multi-statement query without BEGIN stays atomic when the gateway splits it
            SQLException e = assertThrows(SQLException.class,
                    () -> st.execute("INSERT INTO t VALUES (5, 'e'); INSERT INTO t VALUES (1, 'dup'); COMMIT"));
            assertEquals("23505", e.getSQLState());
            st.execute("INSERT INTO t VALUES (6, 'f'); COMMIT; SELECT 1");
        }
        assertEquals(5, count("SELECT count(*) FROM t"));
        assertEquals(0, count("SELECT count(*) FROM t WHERE id = 5"));
        assertEquals(before + 3, COMMITTER.commits.get());
    }

    @Test
    public void preparedStatementsBeforeAndAfterTheServerSideThreshold() throws SQLException {
        for (String threshold : new String[] {"5", "1", "0"}) {
            try (Connection c = gw("prepareThreshold", threshold); Statement clean = c.createStatement()) {
                clean.execute("TRUNCATE t");
                try (PreparedStatement ins = c.prepareStatement("INSERT INTO t VALUES (?, ?)");
                     PreparedStatement sel = c.prepareStatement("SELECT v FROM t WHERE id = ?")) {
                    for (int i = 0; i < 12; i++) {
                        ins.setInt(1, i);
                        ins.setString(2, "v" + i);
                        assertEquals(1, ins.executeUpdate());
                        sel.setInt(1, i);
                        try (ResultSet rs = sel.executeQuery()) {
                            assertTrue(rs.next());
                            assertEquals("v" + i, rs.getString(1));
                        }
                    }
                }
                c.setAutoCommit(false);
                try (PreparedStatement upd = c.prepareStatement("UPDATE t SET v = ? WHERE id = ?")) {
                    for (int i = 0; i < 12; i++) {
                        upd.setString(1, "u" + i);
                        upd.setInt(2, i);
                        upd.executeUpdate();
                        c.commit();
                    }
                }
            }
            assertEquals(12, count("SELECT count(*) FROM t WHERE v LIKE 'u%'"));
        }
    }

    @Test
    public void batchesInAutocommitAndInATransaction() throws SQLException {
        try (Connection c = gw(); PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?, ?)")) {
            for (int i = 0; i < 1000; i++) {
                ps.setInt(1, i);
                ps.setString(2, "b" + i);
                ps.addBatch();
            }
            assertEquals(1000, ps.executeBatch().length);
            c.setAutoCommit(false);
            for (int i = 1000; i < 3000; i++) {
                ps.setInt(1, i);
                ps.setString(2, "b" + i);
                ps.addBatch();
            }
            ps.executeBatch();
            c.commit();
        }
        assertEquals(3000, count("SELECT count(*) FROM t"));
    }

    @Test
    public void failingStatementInAPipelinedBatchLeavesTheSessionUsable() throws SQLException {
        try (Connection c = gw(); PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?, ?)")) {
            for (int i = 0; i < 50; i++) {
                ps.setInt(1, i == 30 ? 5 : i); // duplicate key in the middle of the pipeline
                ps.setString(2, "p" + i);
                ps.addBatch();
            }
            BatchUpdateException e = assertThrows(BatchUpdateException.class, ps::executeBatch);
            assertEquals("23505", e.getSQLState());
            // autocommit batch = one implicit transaction: nothing of it stays
            assertEquals(0, count("SELECT count(*) FROM t"));
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 42")) {
                rs.next();
                assertEquals(42, rs.getInt(1));
            }
            c.setAutoCommit(false);
            ps.setInt(1, 1);
            ps.setString(2, "x");
            ps.addBatch();
            ps.setInt(1, 1);
            ps.setString(2, "y");
            ps.addBatch();
            assertThrows(BatchUpdateException.class, ps::executeBatch);
            SQLException aborted = assertThrows(SQLException.class, () -> {
                try (Statement st = c.createStatement()) {
                    st.executeQuery("SELECT 1");
                }
            });
            assertEquals("25P02", aborted.getSQLState());
            c.rollback();
            ps.setInt(1, 7);
            ps.setString(2, "ok");
            ps.executeUpdate();
            c.commit();
        }
        assertEquals(1, count("SELECT count(*) FROM t"));
    }

    @Test
    public void savepoints() throws SQLException {
        try (Connection c = gw()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO t VALUES (1, 'kept')");
                Savepoint sp = c.setSavepoint("sp1");
                st.executeUpdate("INSERT INTO t VALUES (2, 'undone')");
                c.rollback(sp);
                Savepoint sp2 = c.setSavepoint();
                assertThrows(SQLException.class, () -> st.executeUpdate("INSERT INTO t VALUES (1, 'dup')"));
                c.rollback(sp2);
                st.executeUpdate("INSERT INTO t VALUES (3, 'kept')");
                c.releaseSavepoint(sp2);
            }
            c.commit();
        }
        assertEquals(2, count("SELECT count(*) FROM t"));
        assertEquals(0, count("SELECT count(*) FROM t WHERE id = 2"));
    }

    @Test
    public void errorInTheMiddleOfATransactionNeedsRollback() throws SQLException {
        try (Connection c = gw(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO t VALUES (1, 'a')");
            SQLException dup = assertThrows(SQLException.class, () -> st.executeUpdate("INSERT INTO t VALUES (1, 'b')"));
            assertEquals("23505", dup.getSQLState());
            SQLException aborted = assertThrows(SQLException.class, () -> st.executeQuery("SELECT 1"));
            assertEquals("25P02", aborted.getSQLState());
            c.commit(); // pgjdbc: COMMIT of a failed transaction rolls back
            st.executeUpdate("INSERT INTO t VALUES (2, 'c')");
            c.commit();
        }
        assertEquals(1, count("SELECT count(*) FROM t"));
        assertEquals(1, count("SELECT count(*) FROM t WHERE id = 2"));
    }

    @Test
    public void deferredConstraintFailingAtCommitIsTheCommitsError() throws SQLException {
        try (Connection d = PG.direct(); Statement st = d.createStatement()) {
            st.execute("DROP TABLE IF EXISTS child");
            st.execute("CREATE TABLE child (id int, parent int REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED)");
        }
        try (Connection c = gw(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO child VALUES (1, 999)");
            SQLException e = assertThrows(SQLException.class, c::commit);
            assertEquals("23503", e.getSQLState());
            st.executeUpdate("INSERT INTO t VALUES (1, 'after')");
            c.commit();
        }
        assertEquals(0, count("SELECT count(*) FROM child"));
        assertEquals(1, count("SELECT count(*) FROM t"));
    }

    @Test
    public void copyInAndOutWithCopyManager() throws Exception {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < 20000; i++) {
            data.append(i).append('\t').append("row ").append(i).append('\n');
        }
        try (Connection c = gw()) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            assertEquals(20000, copy.copyIn("COPY t FROM STDIN", new StringReader(data.toString())));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertEquals(20000, copy.copyOut("COPY (SELECT * FROM t ORDER BY id) TO STDOUT", out));
            assertEquals(data.toString(), out.toString(StandardCharsets.UTF_8));
            // a failing COPY leaves the session usable
            SQLException e = assertThrows(SQLException.class,
                    () -> copy.copyIn("COPY t FROM STDIN", new StringReader("1\tdup\n")));
            assertEquals("23505", e.getSQLState());
            c.setAutoCommit(false);
            copy.copyIn("COPY t FROM STDIN", new StringReader("100000\tin tx\n"));
            c.commit();
        }
        assertEquals(20001, count("SELECT count(*) FROM t"));
    }

    @Test
    public void largeResultSetsWholeAndByCursor() throws SQLException {
        String q = "SELECT g, md5(g::text) FROM generate_series(1, 200000) g";
        try (Connection c = gw(); Statement st = c.createStatement()) {
            long n = 0;
            try (ResultSet rs = st.executeQuery(q)) {
                while (rs.next()) {
                    n += rs.getLong(1) == n + 1 ? 1 : 0;
                }
            }
            assertEquals(200000, n);
            c.setAutoCommit(false);
            st.setFetchSize(1000); // portal + Execute with a row limit: PortalSuspended
            n = 0;
            try (ResultSet rs = st.executeQuery(q)) {
                while (rs.next()) {
                    n++;
                }
            }
            assertEquals(200000, n);
            c.commit();
        }
    }

    @Test
    public void cancelStopsALongStatementPromptly() throws Exception {
        try (Connection c = gw(); Statement st = c.createStatement()) {
            long start = System.nanoTime();
            Future<SQLException> running = POOL.submit(() -> {
                try {
                    st.execute("SELECT pg_sleep(30)");
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            awaitRunning("SELECT pg_sleep(30)");
            long cancelAt = System.nanoTime();
            st.cancel();
            SQLException e = running.get(10, TimeUnit.SECONDS);
            long cancelled = System.nanoTime();
            assertNotNull("pg_sleep(30) must be cancelled", e);
            assertEquals("57014", e.getSQLState());
            assertTrue("cancel took " + (cancelled - cancelAt) / 1_000_000 + " ms",
                    cancelled - cancelAt < TimeUnit.SECONDS.toNanos(5)); // (well under 1 s when the machine is idle)
            assertTrue(cancelled - start < TimeUnit.SECONDS.toNanos(20));
            try (ResultSet rs = st.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
        }
    }

    @Test
    public void cancelReachesTheRightBackendAmongSeveral() throws Exception {
        try (Connection a = gw(); Connection b = gw(); Statement sa = a.createStatement();
             Statement sb = b.createStatement()) {
            Future<SQLException> ra = POOL.submit(() -> run(sa, "SELECT pg_sleep(6)"));
            Future<SQLException> rb = POOL.submit(() -> run(sb, "SELECT pg_sleep(30)"));
            awaitRunning("SELECT pg_sleep(30)");
            awaitRunning("SELECT pg_sleep(6)");
            sb.cancel();
            SQLException eb = rb.get(10, TimeUnit.SECONDS);
            assertNotNull(eb);
            assertEquals("57014", eb.getSQLState());
            assertEquals(null, ra.get(20, TimeUnit.SECONDS)); // the other session's sleep finished normally
        }
    }

    private static SQLException run(Statement st, String sql) {
        try {
            st.execute(sql);
            return null;
        } catch (SQLException e) {
            return e;
        }
    }

    @Test
    public void reservedPrepareTransactionIsRefusedAndNeverReachesTheServer() throws SQLException {
        try (Connection c = gw(); Statement st = c.createStatement()) {
            SQLException outside = assertThrows(SQLException.class, () -> st.execute("PREPARE TRANSACTION 'MTM-x'"));
            assertEquals("42939", outside.getSQLState());
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO t VALUES (1, 'a')");
            SQLException inside = assertThrows(SQLException.class, () -> st.execute("prepare transaction 'mtm-1-2-3'"));
            assertEquals("42939", inside.getSQLState());
            SQLException aborted = assertThrows(SQLException.class, () -> st.executeQuery("SELECT 1"));
            assertEquals("25P02", aborted.getSQLState());
            c.rollback();
            // an ordinary user 2PC still works
            st.executeUpdate("INSERT INTO t VALUES (2, 'b')");
            st.execute("PREPARE TRANSACTION 'user-gid-1'");
            c.setAutoCommit(true);
            st.execute("COMMIT PREPARED 'user-gid-1'");
            SQLException finish = assertThrows(SQLException.class, () -> st.execute("ROLLBACK PREPARED 'MTM-1-1-1'"));
            assertEquals("42939", finish.getSQLState());
        }
        assertEquals(0, count("SELECT count(*) FROM pg_prepared_xacts"));
        assertEquals(1, count("SELECT count(*) FROM t"));
    }

    @Test
    public void commitAndChainCommitsAndBeginsALikeTransaction() throws SQLException {
        try (Connection c = gw(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            st.executeUpdate("INSERT INTO t VALUES (1, 'a')");
            st.execute("COMMIT AND CHAIN");
            try (java.sql.ResultSet rs = st.executeQuery("SHOW transaction_isolation")) {
                rs.next();
                assertEquals("the chained transaction keeps the isolation level", "repeatable read", rs.getString(1));
            }
            st.executeUpdate("INSERT INTO t VALUES (2, 'b')");
            c.rollback(); // the chained transaction only: 1 was committed
        }
        try (Connection c = gw("preferQueryMode", "simple"); Statement st = c.createStatement()) {
            st.execute("BEGIN READ ONLY; SELECT 1; END AND CHAIN");
            try (java.sql.ResultSet rs = st.executeQuery("SHOW transaction_read_only")) {
                rs.next();
                assertEquals("on", rs.getString(1));
            }
            st.execute("COMMIT");
            st.execute("BEGIN; INSERT INTO t VALUES (3, 'c'); COMMIT AND CHAIN; INSERT INTO t VALUES (4, 'd'); COMMIT");
            // PostgreSQL's answer in an implicit block; the block is rolled back
            SQLException e = assertThrows(SQLException.class,
                    () -> st.execute("INSERT INTO t VALUES (5, 'e'); COMMIT AND CHAIN"));
            assertEquals("25P01", e.getSQLState());
        }
        assertEquals(3, count("SELECT count(*) FROM t"));
        assertEquals("1, 3 and 4 committed; 2 rolled back with its chained transaction, 5 with its implicit block", 3,
                count("SELECT count(*) FROM t WHERE id IN (1, 3, 4)"));
    }

    @Test
    public void noticesNotificationsAndParameterStatusPassThrough() throws Exception {
        try (Connection listener = gw(); Connection notifier = gw("ApplicationName", "first");
             Statement ls = listener.createStatement(); Statement ns = notifier.createStatement()) {
            ls.execute("LISTEN chan");
            ns.execute("NOTIFY chan, 'hello'");
            PGNotification[] got = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while ((got == null || got.length == 0) && System.nanoTime() < deadline) {
                got = listener.unwrap(PGConnection.class).getNotifications(200);
            }
            assertNotNull(got);
            assertEquals(1, got.length);
            assertEquals("hello", got[0].getParameter());
            ns.execute("DO $$BEGIN RAISE NOTICE 'note %', 1; END$$");
            SQLWarning w = ns.getWarnings();
            assertNotNull(w);
            assertEquals("note 1", w.getMessage());
            notifier.setClientInfo("ApplicationName", "second");
            try (ResultSet rs = ns.executeQuery("SHOW application_name")) {
                rs.next();
                assertEquals("second", rs.getString(1));
            }
        }
    }

    @Test
    public void concurrentSessionsDoNotMix() throws Exception {
        CompletableFuture<?>[] all = new CompletableFuture<?>[8];
        for (int s = 0; s < all.length; s++) {
            int base = s * 1000;
            all[s] = CompletableFuture.runAsync(() -> {
                try (Connection c = gw(); PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?, ?)")) {
                    c.setAutoCommit(false);
                    for (int i = 0; i < 200; i++) {
                        ps.setInt(1, base + i);
                        ps.setString(2, Integer.toString(base));
                        ps.executeUpdate();
                        if (i % 10 == 9) {
                            c.commit();
                        }
                    }
                    c.commit();
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }, POOL);
        }
        CompletableFuture.allOf(all).get(60, TimeUnit.SECONDS);
        assertEquals(1600, count("SELECT count(*) FROM t"));
        assertEquals(8, count("SELECT count(DISTINCT v) FROM t"));
    }

    @Test
    public void binaryValuesAndBigParametersRoundTrip() throws SQLException {
        try (Connection d = PG.direct(); Statement st = d.createStatement()) {
            st.execute("DROP TABLE IF EXISTS blobs");
            st.execute("CREATE TABLE blobs (id int, b bytea)");
        }
        byte[] big = new byte[3 * 1024 * 1024 + 17];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        try (Connection c = gw(); PreparedStatement ps = c.prepareStatement("INSERT INTO blobs VALUES (?, ?)")) {
            ps.setInt(1, 1);
            ps.setBytes(2, big);
            ps.executeUpdate();
            try (PreparedStatement q = c.prepareStatement("SELECT b FROM blobs WHERE id = ?")) {
                q.setInt(1, 1);
                try (ResultSet rs = q.executeQuery()) {
                    assertTrue(rs.next());
                    assertArrayEquals(big, rs.getBytes(1));
                    assertFalse(rs.next());
                }
            }
        }
    }

    /** Waits (at most 10 s) until a backend runs exactly {@code query}, so a cancel cannot arrive before it. */
    private static void awaitRunning(String query) throws Exception {
        try (Connection c = gw(); java.sql.PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = ?")) {
            ps.setString(1, query);
            Await.until(Duration.ofSeconds(10), "a backend running '" + query + "'", () -> {
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getInt(1) > 0;
                }
            });
        }
    }
}
