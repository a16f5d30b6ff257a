package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.StringReader;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.AfterClass;
import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.api.Gid;
import org.mtm.gateway.internal.commit.CommitContext;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.CoordinatedCommitter;
import org.postgresql.PGConnection;
import org.mtm.testing.Await;

/**
 * The commit seam with the two-phase shape the cluster will use: PREPARE TRANSACTION, an asynchronous
 * decision (here: a delay on another thread, standing in for the peers' votes), COMMIT/ROLLBACK PREPARED.
 * One gateway relays autocommit statements as they are; the other wraps them (DESIGN §2.1).
 */
public class CommitSeamTest {
    /** Decides after a delay on another thread; records what it saw. */
    static final class DelayedDecider implements DecidingCoordinator.Decider {
        final List<Gid> decided = new CopyOnWriteArrayList<>();
        final List<Boolean> preparedAtDecision = new CopyOnWriteArrayList<>();
        final AtomicReference<ServerError> nextAbort = new AtomicReference<>();
        final AtomicLong delayMillis = new AtomicLong(20);
        private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

        @Override
        public CompletionStage<ServerError> decide(Gid gid) {
            decided.add(gid);
            preparedAtDecision.add(isPrepared(gid));
            ServerError abort = nextAbort.getAndSet(null);
            Executor later = CompletableFuture.delayedExecutor(delayMillis.get(), TimeUnit.MILLISECONDS, timer);
            return CompletableFuture.supplyAsync(() -> abort, later);
        }

        void reset() {
            decided.clear();
            preparedAtDecision.clear();
            nextAbort.set(null);
            delayMillis.set(20);
        }
    }

    private static final DelayedDecider DECIDER = new DelayedDecider();
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway PLAIN = new TestGateway(PG, false)
            .committer(new CoordinatedCommitter(new DecidingCoordinator(1, 7, DECIDER)));
    private static final TestGateway WRAPPING = new TestGateway(PG, true)
            .committer(new CoordinatedCommitter(new DecidingCoordinator(1, 7, DECIDER)));

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(PLAIN).around(WRAPPING);

    @AfterClass
    public static void stopTimer() {
        DECIDER.timer.shutdownNow();
    }

    @Before
    public void fresh() throws SQLException {
        DECIDER.reset();
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS t");
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
        }
    }

    private static boolean isPrepared(Gid gid) {
        try (Connection c = PG.direct(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM pg_prepared_xacts WHERE gid = ?")) {
            ps.setString(1, gid.toString());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1) == 1;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long count(String sql) throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static Connection connect(TestGateway gw, String... props) throws SQLException {
        Properties p = new Properties();
        for (int i = 0; i < props.length; i += 2) {
            p.setProperty(props[i], props[i + 1]);
        }
        return TestPostgres.connect(gw.endpoint(), p);
    }

    private void assertNothingPrepared() throws SQLException {
        assertEquals(0, count("SELECT count(*) FROM pg_prepared_xacts"));
    }

    @Test
    public void writeTransactionIsPreparedDecidedAndCommittedPrepared() throws SQLException {
        long xid;
        try (Connection c = connect(PLAIN); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO t VALUES (1, 'a')");
            try (ResultSet rs = st.executeQuery("SELECT pg_current_xact_id()::text::bigint")) {
                rs.next();
                xid = rs.getLong(1);
            }
            c.commit();
        }
        assertEquals(List.of(new Gid(1, xid, 7)), DECIDER.decided);
        assertEquals(List.of(true), DECIDER.preparedAtDecision);
        assertEquals(1, count("SELECT count(*) FROM t"));
        assertNothingPrepared();
    }

    @Test
    public void readOnlyTransactionCommitsLocallyWithoutADecision() throws SQLException {
        try (Connection c = connect(PLAIN); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeQuery("SELECT count(*) FROM t").close();
            c.commit();
            st.executeQuery("SELECT 1").close();
            st.execute("COMMIT");
        }
        assertEquals(List.of(), DECIDER.decided);
        assertNothingPrepared();
    }

    @Test
    public void abortDecisionRollsBackAndTheClientGetsThePeersError() throws SQLException {
        DECIDER.nextAbort.set(ServerError.error("40001", "could not serialize access: conflict on node 2"));
        try (Connection c = connect(PLAIN); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO t VALUES (1, 'a')");
            SQLException e = assertThrows(SQLException.class, c::commit);
            assertEquals("40001", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("conflict on node 2"));
            st.executeUpdate("INSERT INTO t VALUES (2, 'b')");
            c.commit();
        }
        assertEquals(0, count("SELECT count(*) FROM t WHERE id = 1"));
        assertEquals(1, count("SELECT count(*) FROM t WHERE id = 2"));
        assertEquals(2, DECIDER.decided.size());
        assertNothingPrepared();
    }

    @Test
    public void simpleProtocolCommitsGoThroughTheSameSeam() throws SQLException {
        try (Connection c = connect(PLAIN, "preferQueryMode", "simple"); Statement st = c.createStatement()) {
            st.execute("BEGIN; INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b'); COMMIT");
            st.execute("INSERT INTO t VALUES (3, 'c'); COMMIT");
            DECIDER.nextAbort.set(ServerError.error("40P01", "deadlock detected across nodes"));
            SQLException e = assertThrows(SQLException.class,
                    () -> st.execute("BEGIN; INSERT INTO t VALUES (4, 'd'); END; SELECT 1"));
            assertEquals("40P01", e.getSQLState());
        }
        assertEquals(3, count("SELECT count(*) FROM t"));
        assertEquals(3, DECIDER.decided.size());
        assertNothingPrepared();
    }

    @Test
    public void cancelWhileTheCommitIsBeingDecidedDoesNotTouchIt() throws Exception {
        DECIDER.delayMillis.set(800);
        try (Connection c = connect(PLAIN); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO t VALUES (1, 'a')");
            Future<SQLException> committing = Executors.newSingleThreadExecutor().submit(() -> {
                try {
                    c.commit();
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            Await.until(Duration.ofSeconds(5), "the committer decided", () -> !DECIDER.decided.isEmpty());
            c.unwrap(PGConnection.class).cancelQuery();
            assertEquals(null, committing.get(5, TimeUnit.SECONDS));
        }
        assertEquals(1, count("SELECT count(*) FROM t"));
        assertNothingPrepared();
    }

    @Test
    public void clientThatDisconnectsDuringTheDecisionStillGetsItsCommitFinished() throws Exception {
        DECIDER.delayMillis.set(500);
        try (RawClient c = RawClient.open(PLAIN.endpoint())) {
            c.query("BEGIN; INSERT INTO t VALUES (1, 'a')").flush();
            c.readUntilReady();
            c.query("COMMIT").flush();
            awaitDecision();
        } // gone without waiting for the answer
        await("the decided transaction committed", () -> count("SELECT count(*) FROM t") == 1
                && count("SELECT count(*) FROM pg_prepared_xacts") == 0);
    }

    @Test
    public void backendKilledAfterPrepareIsFinishedOnAConnectionOfItsOwn() throws Exception {
        DECIDER.delayMillis.set(500);
        try (Connection c = connect(PLAIN); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO t VALUES (1, 'a')");
            int pid;
            try (ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getInt(1);
            }
            Future<SQLException> committing = Executors.newSingleThreadExecutor().submit(() -> {
                try {
                    c.commit();
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            awaitDecision();
            try (Connection d = PG.direct(); Statement ds = d.createStatement()) {
                ds.execute("SELECT pg_terminate_backend(" + pid + ")");
            }
            assertTrue(committing.get(10, TimeUnit.SECONDS) != null); // the client lost its connection
        }
        await("the prepared transaction committed from another connection",
                () -> count("SELECT count(*) FROM t") == 1 && count("SELECT count(*) FROM pg_prepared_xacts") == 0);
    }

    private static void awaitDecision() throws InterruptedException {
        await("a commit decision to start", () -> !DECIDER.decided.isEmpty());
    }

    private static void await(String what, Await.Check check) throws InterruptedException {
        Await.until(Duration.ofSeconds(10), what, check);
    }

    @Test
    public void wrappedAutocommitWritesAreDecidedReadsAreNot() throws Exception {
        try (Connection c = connect(WRAPPING); Statement st = c.createStatement()) {
            assertEquals(1, st.executeUpdate("INSERT INTO t VALUES (1, 'a')"));
            assertEquals(1, DECIDER.decided.size());
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM t")) {
                rs.next();
                assertEquals(1, rs.getInt(1));
            }
            assertEquals(1, DECIDER.decided.size());
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?, 'batch')")) {
                for (int i = 10; i < 20; i++) {
                    ps.setInt(1, i);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            assertEquals(2, DECIDER.decided.size()); // one Sync, one transaction
            SQLException dup = assertThrows(SQLException.class, () -> st.executeUpdate("INSERT INTO t VALUES (1, 'dup')"));
            assertEquals("23505", dup.getSQLState());
            DECIDER.nextAbort.set(ServerError.error("40001", "vote: no"));
            SQLException vetoed = assertThrows(SQLException.class, () -> st.executeUpdate("INSERT INTO t VALUES (2, 'b')"));
            assertEquals("40001", vetoed.getSQLState());
            st.execute("VACUUM t"); // cannot run in a transaction block: not wrapped
            c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY t FROM STDIN", new StringReader("30\tcopied\n31\tcopied\n"));
            // the client's own transaction is still the client's
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO t VALUES (40, 'tx')");
            c.commit();
        }
        assertEquals(14, count("SELECT count(*) FROM t"));
        assertEquals(0, count("SELECT count(*) FROM t WHERE id = 2"));
        assertEquals(5, DECIDER.decided.size());
        assertTrue(DECIDER.preparedAtDecision.stream().allMatch(b -> b));
        assertNothingPrepared();
    }

    @Test
    public void wrappedSimpleProtocolKeepsMultiStatementAtomicity() throws SQLException {
        try (Connection c = connect(WRAPPING, "preferQueryMode", "simple"); Statement st = c.createStatement()) {
            st.execute("INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b')");
            assertEquals(1, DECIDER.decided.size());
            SQLException e = assertThrows(SQLException.class,
                    () -> st.execute("INSERT INTO t VALUES (3, 'c'); INSERT INTO t VALUES (1, 'dup')"));
            assertEquals("23505", e.getSQLState());
            st.execute("SELECT 1; SELECT 2");
            assertEquals(1, DECIDER.decided.size());
            st.execute("CREATE TABLE u (a int); INSERT INTO u VALUES (1)");
            assertEquals(2, DECIDER.decided.size());
        }
        assertEquals(2, count("SELECT count(*) FROM t"));
        assertEquals(1, count("SELECT count(*) FROM u"));
        assertNothingPrepared();
    }

    /** What the session itself sees of its prepared statements: nothing of the gateway's (issue 8 part 5). */
    private static String preparedNames(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT coalesce(string_agg(name, ',' ORDER BY name), '') "
                + "FROM pg_prepared_statements")) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    public void theGatewayLeavesNoPreparedStatementInTheSession() throws Exception {
        // pgjdbc's own named statements (prepareThreshold=1) are the only ones, as on PostgreSQL
        try (Connection c = connect(WRAPPING, "prepareThreshold", "0"); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO t VALUES (1, 'a')");
            st.executeUpdate("UPDATE t SET v = 'b' WHERE id = 1");
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO t VALUES (2, 'b')");
            c.commit();
            c.setAutoCommit(true);
            assertEquals("", preparedNames(st));
            st.execute("DEALLOCATE ALL");
            st.executeUpdate("INSERT INTO t VALUES (3, 'c')");
            st.execute("DISCARD ALL");
            st.executeUpdate("INSERT INTO t VALUES (4, 'd')");
            assertEquals("", preparedNames(st));
        }
        try (Connection c = connect(WRAPPING, "preferQueryMode", "simple"); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO t VALUES (5, 'e')");
            st.execute("INSERT INTO t VALUES (6, 'f'); SELECT 1");
            st.execute("PREPARE mine AS SELECT 1");
            assertEquals("mine", preparedNames(st));
        }
        try (RawClient c = RawClient.open(WRAPPING.endpoint())) {
            c.parse("", "INSERT INTO t VALUES (7, 'g')").bind("", "").execute("", 0).sync().flush();
            assertEquals("12CZ", RawClient.types(c.readUntilReady()));
            c.query("SELECT count(*) FROM pg_prepared_statements").flush();
            assertEquals("0", RawClient.first(c.readUntilReady(), 'D').column0());
        }
        assertEquals(7, count("SELECT count(*) FROM t"));
        assertEquals(8, DECIDER.decided.size());
        assertNothingPrepared();
    }

    private static String warnings(SQLWarning w) {
        StringBuilder b = new StringBuilder();
        for (; w != null; w = w.getNextWarning()) {
            b.append(b.length() == 0 ? "" : "|").append(w.getSQLState()).append(' ').append(w.getMessage());
        }
        return b.toString();
    }

    /** Through {@code gw} (null: PostgreSQL directly): the notices of an explicit COMMIT and of an autocommit insert. */
    private static List<String> deferredNotices(TestGateway gw, String mode, int id) throws SQLException {
        try (Connection c = gw == null ? TestPostgres.connect(PG.endpoint(), "preferQueryMode", mode)
                : connect(gw, "preferQueryMode", mode); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO t VALUES (" + id + ", 'x')");
            String beforeCommit = warnings(st.getWarnings()) + warnings(c.getWarnings());
            c.commit();
            String atCommit = warnings(c.getWarnings());
            c.clearWarnings();
            c.setAutoCommit(true);
            st.clearWarnings();
            st.executeUpdate("INSERT INTO t VALUES (" + (id + 1) + ", 'y')");
            return List.of(beforeCommit, atCommit, warnings(st.getWarnings()) + warnings(c.getWarnings()));
        }
    }

    @Test
    public void noticesOfDeferredTriggersReachTheClientAtCommit() throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("CREATE OR REPLACE FUNCTION t_checked() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$BEGIN RAISE NOTICE 'checked %', NEW.id; RETURN NULL; END$$");
            st.execute("CREATE CONSTRAINT TRIGGER t_checked AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED "
                    + "FOR EACH ROW EXECUTE FUNCTION t_checked()");
        }
        for (String mode : new String[] {"extended", "simple"}) {
            assertEquals(List.of("", "00000 checked 1", "00000 checked 2"), deferredNotices(null, mode, 1));
            assertEquals(mode, List.of("", "00000 checked 11", "00000 checked 12"), deferredNotices(PLAIN, mode, 11));
            assertEquals(mode, List.of("", "00000 checked 21", "00000 checked 22"), deferredNotices(WRAPPING, mode, 21));
            try (Connection c = PG.direct(); Statement st = c.createStatement()) {
                st.execute("DELETE FROM t");
            }
        }
        assertNothingPrepared();
    }

    @Test
    public void theSessionsActivityShowsTheClientsOwnText() throws SQLException {
        String sql = "/* mine */ SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()";
        for (String mode : new String[] {"extended", "simple"}) {
            try (Connection c = connect(WRAPPING, "preferQueryMode", mode); Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO t VALUES (1, 'a') ON CONFLICT DO NOTHING");
                try (ResultSet rs = st.executeQuery(sql)) {
                    rs.next();
                    assertEquals(mode, sql, rs.getString(1));
                }
            }
        }
    }

    @Test
    public void aCancelRequestReachesTheClientsStatementInTheGatewaysBlock() throws Exception {
        for (String mode : new String[] {"extended", "simple"}) {
            try (Connection c = connect(WRAPPING, "preferQueryMode", mode); Statement st = c.createStatement()) {
                ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
                try {
                    timer.schedule(() -> {
                        st.cancel();
                        return null;
                    }, 300, TimeUnit.MILLISECONDS);
                    long start = System.nanoTime();
                    SQLException e = assertThrows(SQLException.class, () -> st.execute("SELECT pg_sleep(20)"));
                    assertEquals(mode + ": " + e, "57014", e.getSQLState());
                    assertTrue(mode, System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10));
                } finally {
                    timer.shutdownNow();
                }
                st.executeUpdate("INSERT INTO t VALUES (" + ("simple".equals(mode) ? 2 : 1) + ", 'after')");
            }
        }
        assertEquals(2, count("SELECT count(*) FROM t"));
        assertNothingPrepared();
    }
}
