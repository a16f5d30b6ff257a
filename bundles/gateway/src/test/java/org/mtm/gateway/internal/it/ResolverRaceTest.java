package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.junit.After;
import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.api.Coordinator;
import org.mtm.api.Gid;
import org.mtm.gateway.internal.commit.CoordinatedCommitter;
import org.mtm.testing.Await;

/**
 * Issue 7, the gateway side of resolution: the resolver may finish a prepared transaction (COMMIT/ROLLBACK
 * PREPARED on a connection of its own) while the gateway finishes it too. The decision is unique, so "no such
 * prepared transaction" (42704) after it means "finished that way", and "busy" (55000: the other session is
 * finishing it right now) is asked again. A session that holds a prepared transaction busy for as long as the
 * test wants is real PostgreSQL behaviour: COMMIT/ROLLBACK PREPARED with synchronous_commit on waits for a
 * synchronous standby (here one that never comes) while it still holds the transaction, until it is cancelled.
 */
public class ResolverRaceTest {
    /** The cluster's coordinator as the gateway sees it; {@link #resolve} plays the resolver at decision time. */
    static final class RacingCoordinator implements Coordinator {
        volatile Function<Gid, Decision> resolve = gid -> Decision.COMMIT;
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override
        public Gid begin(long originXid) {
            return new Gid(1, originXid, 1);
        }

        @Override
        public CompletableFuture<Decision> prepared(Gid gid) {
            return CompletableFuture.supplyAsync(() -> resolve.apply(gid), RESOLVER_THREAD);
        }

        @Override
        public CompletableFuture<Void> committed(Gid gid) {
            calls.add("committed " + (isPrepared(gid) ? "while still prepared" : "after it was finished"));
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void aborted(Gid gid) {
            calls.add("aborted " + (isPrepared(gid) ? "while still prepared" : "after it was finished"));
        }
    }

    private static final ExecutorService RESOLVER_THREAD = Executors.newCachedThreadPool();
    private static final RacingCoordinator COORDINATOR = new RacingCoordinator();
    private static final TestPostgres PG = new TestPostgres();
    /** Patience long enough never to run out here: the test ends the other session's hold itself. */
    private static final TestGateway GW = new TestGateway(PG).initialised(true)
            .committer(new CoordinatedCommitter(COORDINATOR, Duration.ofMinutes(2)));

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @BeforeClass
    public static void synchronousStandbyThatNeverComes() throws Exception {
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
            st.execute("SELECT pg_reload_conf()");
        }
        // the checkpointer takes the setting on its own time: probe until a commit really waits for the standby
        AtomicInteger probe = new AtomicInteger();
        Await.until(Duration.ofSeconds(30), "commits with synchronous_commit = on to wait for the standby", () -> {
            String gid = "probe-" + probe.incrementAndGet();
            try (Connection c = PG.direct(); Statement st = c.createStatement()) {
                st.execute("BEGIN; SELECT pg_current_xact_id(); PREPARE TRANSACTION '" + gid + "'");
                st.execute("SET synchronous_commit = on; SET statement_timeout = '50ms'");
                st.execute("COMMIT PREPARED '" + gid + "'");
                for (SQLWarning w = st.getWarnings(); w != null; w = w.getNextWarning()) {
                    if (w.getMessage().contains("synchronous replication")) {
                        return true;
                    }
                }
                return false;
            }
        });
    }

    @AfterClass
    public static void stopResolver() {
        RESOLVER_THREAD.shutdownNow();
    }

    /** Holds still in force after a test (it failed): released, or the next test would wait on their locks. */
    private static final List<Hold> HOLDS = new CopyOnWriteArrayList<>();

    @After
    public void releaseHolds() throws Exception {
        for (Hold h : HOLDS) {
            h.release();
        }
    }

    @Before
    public void fresh() throws SQLException {
        COORDINATOR.calls.clear();
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS r");
            st.execute("CREATE TABLE r (id int PRIMARY KEY)");
        }
    }

    static boolean isPrepared(Gid gid) {
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

    private static long rows() throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM r")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static Connection client() throws SQLException {
        Properties p = new Properties();
        p.setProperty("ApplicationName", "racer");
        Connection c = TestPostgres.connect(GW.endpoint(), p);
        c.setAutoCommit(false);
        return c;
    }

    /** Finishes the prepared transaction on a connection of its own, at once (as the resolver would). */
    private static void finishNow(String sql) {
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Another session in the middle of finishing a prepared transaction: its COMMIT/ROLLBACK PREPARED waits for
     * the synchronous standby while holding the transaction (others get "busy") until {@link #release()}.
     */
    /**
     * Lets the coordinator decide {@code decision} while another session runs {@code finish} (COMMIT or ROLLBACK
     * PREPARED) on the gid and holds it busy; the hold is in the array's only slot once the decision was asked for.
     */
    private static Hold[] holdWhileDeciding(String finish, Coordinator.Decision decision) {
        Hold[] hold = new Hold[1];
        COORDINATOR.resolve = gid -> {
            try {
                hold[0] = new Hold(finish + " '" + gid + "'");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return decision;
        };
        return hold;
    }

    static final class Hold {
        private final Connection connection;
        private final int pid;
        private final Future<?> running;

        Hold(String sql) throws Exception {
            connection = PG.direct();
            try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getInt(1);
                st.execute("SET synchronous_commit = on");
            }
            running = RESOLVER_THREAD.submit(() -> {
                try (Statement st = connection.createStatement()) {
                    st.execute(sql);
                }
                return null;
            });
            HOLDS.add(this);
            Await.until(Duration.ofSeconds(10), "the other session to hold the prepared transaction",
                    () -> "SyncRep".equals(waitEvent(pid)));
        }

        /** Ends the wait: the other session's COMMIT/ROLLBACK PREPARED completes (with a warning). */
        void release() throws Exception {
            if (!HOLDS.remove(this)) {
                return;
            }
            try (Connection c = PG.direct(); Statement st = c.createStatement()) {
                st.execute("SELECT pg_cancel_backend(" + pid + ")");
            }
            running.get();
            connection.close();
        }
    }

    private static String waitEvent(int pid) throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT wait_event FROM pg_stat_activity WHERE pid = " + pid)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** Whether the gateway's backend for the client has run {@code prefix...} (its last statement). */
    private static boolean gatewayRan(String prefix) throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT query FROM pg_stat_activity WHERE application_name = 'racer'")) {
            return rs.next() && rs.getString(1).startsWith(prefix);
        }
    }

    @Test
    public void commitPreparedOfAGidTheResolverCommittedCountsAsCommitted() throws Exception {
        COORDINATOR.resolve = gid -> {
            finishNow("COMMIT PREPARED '" + gid + "'");
            return Coordinator.Decision.COMMIT;
        };
        try (Connection c = client(); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO r VALUES (1)");
            c.commit(); // 42704 for the gateway's COMMIT PREPARED: committed by the resolver, not "unknown"
        }
        assertEquals(1, rows());
        assertEquals(List.of("committed after it was finished"), COORDINATOR.calls);
    }

    @Test
    public void busyCommitPreparedIsAskedAgainUntilTheOtherSessionFinishedIt() throws Exception {
        Hold[] hold = holdWhileDeciding("COMMIT PREPARED", Coordinator.Decision.COMMIT);
        try (Connection c = client(); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO r VALUES (1)");
            Future<?> commit = RESOLVER_THREAD.submit(() -> {
                c.commit();
                return null;
            });
            Await.until(Duration.ofSeconds(10), "the gateway's COMMIT PREPARED to meet the busy transaction",
                    () -> gatewayRan("COMMIT PREPARED"));
            assertFalse(commit.isDone());
            hold[0].release();
            commit.get(); // committed, not 08007
        }
        assertEquals(1, rows());
        assertEquals(List.of("committed after it was finished"), COORDINATOR.calls);
    }

    @Test
    public void busyBeyondThePatienceIsResolutionUnknown() throws Exception {
        Hold[] hold = holdWhileDeciding("COMMIT PREPARED", Coordinator.Decision.COMMIT);
        GW.committer(new CoordinatedCommitter(COORDINATOR, Duration.ZERO));
        try (Connection c = client(); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO r VALUES (1)");
            SQLException unknown = assertThrows(SQLException.class, c::commit);
            assertEquals("08007", unknown.getSQLState());
            assertTrue(unknown.getMessage(), unknown.getMessage().contains("was decided but COMMIT PREPARED failed"));
        } finally {
            GW.committer(new CoordinatedCommitter(COORDINATOR, Duration.ofMinutes(2)));
            if (hold[0] != null) {
                hold[0].release();
            }
        }
        assertEquals(1, rows()); // the other session committed it: the decision was to commit
        assertEquals(List.of(), COORDINATOR.calls);
    }

    @Test
    public void rollbackPreparedOfAGidTheResolverRolledBackIsDone() throws Exception {
        COORDINATOR.resolve = gid -> {
            finishNow("ROLLBACK PREPARED '" + gid + "'");
            return Coordinator.Decision.abort("40001", "[multimaster] aborted: test");
        };
        try (Connection c = client(); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO r VALUES (1)");
            assertEquals("40001", assertThrows(SQLException.class, c::commit).getSQLState());
        }
        assertEquals(0, rows());
        assertEquals(List.of("aborted after it was finished"), COORDINATOR.calls);
    }

    @Test
    public void busyRollbackPreparedIsAskedAgainUntilTheOtherSessionFinishedIt() throws Exception {
        Hold[] hold = holdWhileDeciding("ROLLBACK PREPARED", Coordinator.Decision.abort("40001", "[multimaster] aborted: test"));
        try (Connection c = client(); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO r VALUES (1)");
            Future<?> commit = RESOLVER_THREAD.submit(() -> {
                SQLException aborted = assertThrows(SQLException.class, c::commit);
                assertEquals("40001", aborted.getSQLState());
                return null;
            });
            Await.until(Duration.ofSeconds(10), "the gateway's ROLLBACK PREPARED to meet the busy transaction",
                    () -> gatewayRan("ROLLBACK PREPARED"));
            assertFalse(commit.isDone());
            hold[0].release();
            commit.get();
        }
        assertEquals(0, rows());
        // the peers are told once the local prepared transaction is really gone
        assertEquals(List.of("aborted after it was finished"), COORDINATOR.calls);
    }
}
