package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.testing.Await;

/**
 * Parallel apply ({@code max_workers} > 1) on real PostgreSQL 15: node 1 (A) prepares concurrently, node 2
 * (B) applies with several workers.
 */
public class ParallelApplyTest {
    private static final int A = 1;
    private static final int B = 2;
    private static final Duration WAIT = Duration.ofSeconds(20);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(2);

    @Rule
    public final Timeout timeout = Timeout.seconds(90);

    private final RecordedVotes votes = new RecordedVotes();
    private final List<Receiver> receivers = new ArrayList<>();

    @After
    public void stopReceivers() throws Exception {
        NODES.stopAll(receivers);
    }

    private Receiver startReceiver(long lockBoundMs) {
        return startReceiver(lockBoundMs, 4);
    }

    private Receiver startReceiver(long lockBoundMs, int workers) {
        Receiver r = new Receiver(B, NODES.clusterNode(A), NODES.node(B), votes, new ApplierSettings(lockBoundMs, workers),
                () -> 0L, 1).start();
        receivers.add(r);
        return r;
    }

    private static String prepareOnA(String... statements) throws SQLException {
        return NODES.prepare(A, statements);
    }

    private static void assertSameOnBoth(String table) throws Exception {
        Await.until(WAIT, table + " identical on A and B", () -> NODES.md5(A, table).equals(NODES.md5(B, table)));
    }

    @Test
    public void aTransactionStuckOnALockDoesNotHoldUpConcurrentOnes() throws Exception {
        NODES.execEverywhere("CREATE TABLE pa (id int PRIMARY KEY, n int)");
        Receiver r = startReceiver(30_000);
        NODES.exec(A, "INSERT INTO pa SELECT g, 0 FROM generate_series(1, 5) g");
        assertSameOnBoth("pa");
        try (Connection local = NODES.node(B).connect(); Statement st = local.createStatement()) {
            st.execute("BEGIN");
            st.execute("SELECT * FROM pa WHERE id = 1 FOR UPDATE");
            String stuck = prepareOnA("UPDATE pa SET n = n + 1 WHERE id = 1");
            List<String> others = new ArrayList<>();
            for (int i = 2; i <= 4; i++) {
                others.add(prepareOnA("UPDATE pa SET n = n + 1 WHERE id = " + i));
            }
            for (String g : others) {
                votes.await(Kind.PREPARED, g, WAIT);
                NODES.exec(A, "COMMIT PREPARED '" + g + "'");
            }
            for (String g : others) {
                votes.await(Kind.COMMITTED, g, WAIT);
            }
            assertEquals("later transactions committed on B while the first still waits", "0,1,1,1,0",
                    NODES.query(B, "SELECT string_agg(n::text, ',' ORDER BY id) FROM pa"));
            assertEquals(0, votes.of(stuck).size());
            assertTrue("several apply sessions, got " + r.info().workers(), r.info().workers() >= 3);

            st.execute("ROLLBACK");
            votes.await(Kind.PREPARED, stuck, WAIT);
            NODES.exec(A, "COMMIT PREPARED '" + stuck + "'");
            votes.await(Kind.COMMITTED, stuck, WAIT);
        }
        assertSameOnBoth("pa");
        assertEquals("1,1,1,1,0", NODES.query(B, "SELECT string_agg(n::text, ',' ORDER BY id) FROM pa"));
    }

    /** B's apply sessions (of A's stream) that wait for a lock right now, for at least {@code ms}. */
    private static long applyWaitingForLock(String applicationNamePattern, long ms) throws SQLException {
        return NODES.count(B, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '" + applicationNamePattern
                + "' AND wait_event_type = 'Lock' AND now() - query_start >= interval '" + ms + " ms'");
    }

    /**
     * A plain transaction (committed on A without 3PC, e.g. an autocommit TRUNCATE) cannot be voted down.
     * It used to give up at the apply lock bound and fail the whole receiver, again and again while B's own
     * transactions kept the table locked — and every later transaction of A waited behind it for its votes
     * until the coordinator's decision bound. It now waits long enough for what it waits for to be decided.
     */
    @Test
    public void aPlainTransactionWaitsOutAConflictInsteadOfFailingTheReceiver() throws Exception {
        long bound = 300;
        NODES.execEverywhere("CREATE TABLE ptr (id int PRIMARY KEY)");
        Receiver r = startReceiver(bound);
        NODES.exec(A, "INSERT INTO ptr VALUES (1)");
        assertSameOnBoth("ptr");
        // like a transaction of B's prepared and waiting for its votes, holding the table for a while
        NODES.exec(B, "BEGIN; INSERT INTO ptr VALUES (100); PREPARE TRANSACTION 'holder of ptr'");
        NODES.exec(A, "TRUNCATE ptr");
        Await.until(WAIT, "the TRUNCATE waited three lock bounds, or the receiver failed",
                () -> applyWaitingForLock("mtm_apply_1", 3 * bound) == 1 || r.failures() > 0);
        assertEquals("the receiver did not fail", 0, r.failures());
        NODES.exec(B, "ROLLBACK PREPARED 'holder of ptr'");
        assertSameOnBoth("ptr");
        assertEquals("0", NODES.query(B, "SELECT count(*) FROM ptr"));
        String next = prepareOnA("INSERT INTO ptr VALUES (2)");
        votes.await(Kind.PREPARED, next, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + next + "'");
        assertSameOnBoth("ptr");
        assertEquals("the receiver did not fail", 0, r.failures());
    }

    /**
     * A transaction rolled back on its origin while its apply here still waits for a lock: the stream must
     * not wait for that apply's lock bound (the lock may be held by a transaction whose own finish is later
     * in the same stream). The apply is cancelled and dropped without a vote.
     */
    @Test
    public void aRollbackDoesNotWaitForItsTransactionsLockBound() throws Exception {
        NODES.execEverywhere("CREATE TABLE rw (id int PRIMARY KEY, n int)");
        Receiver r = startReceiver(30_000);
        NODES.exec(A, "INSERT INTO rw SELECT g, 0 FROM generate_series(1, 2) g");
        assertSameOnBoth("rw");
        NODES.exec(B, "BEGIN; UPDATE rw SET n = 100 WHERE id = 1; PREPARE TRANSACTION 'holder of rw'");
        String stuck = prepareOnA("UPDATE rw SET n = n + 1 WHERE id = 1");
        Await.until(WAIT, "its apply waits for the lock", () -> applyWaitingForLock("mtm_apply_1_%", 0) == 1);
        NODES.exec(A, "ROLLBACK PREPARED '" + stuck + "'"); // e.g. another node voted it down
        String next = prepareOnA("UPDATE rw SET n = n + 1 WHERE id = 2");
        votes.await(Kind.PREPARED, next, Duration.ofSeconds(15)); // far below the 30 s lock bound
        assertEquals("no vote for the abandoned transaction", 0, votes.of(stuck).size());
        assertFalse(NODES.prepared(B, stuck));
        NODES.exec(A, "COMMIT PREPARED '" + next + "'");
        votes.await(Kind.COMMITTED, next, WAIT);
        NODES.exec(B, "ROLLBACK PREPARED 'holder of rw'");
        assertSameOnBoth("rw");
        assertEquals("0,1", NODES.query(B, "SELECT string_agg(n::text, ',' ORDER BY id) FROM rw"));
        assertEquals("the receiver did not fail", 0, r.failures());
    }

    /**
     * A large transaction rolled back on its origin while B still applies it: the stream reads its {@code r} only
     * once the worker's queue has room (the last ~1000 rows), and B's worker stops after the statement it runs
     * instead of applying those rows, preparing and voting (the stream waited for all that before it read A's
     * next transaction). A trigger of B's, fired by the apply, counts the rows applied in a sequence (which a
     * rollback does not undo) and makes each row slow.
     */
    @Test
    public void aLargeTransactionRolledBackOnItsOriginStopsBeforeItsLastRows() throws Exception {
        int rows = 4000;
        NODES.execEverywhere("CREATE TABLE big (id int PRIMARY KEY, n int)");
        countAppliedUpdatesSlowlyOnB("big", "");
        Receiver r = startReceiver(30_000);
        NODES.exec(A, "INSERT INTO big SELECT g, 0 FROM generate_series(1, " + rows + ") g");
        assertSameOnBoth("big");
        String large = prepareOnA("UPDATE big SET n = n + 1");
        Await.until(WAIT, "B applies it", () -> NODES.count(B, "SELECT last_value FROM public.big_applied") > 1);
        NODES.exec(A, "ROLLBACK PREPARED '" + large + "'"); // e.g. another node voted it down
        String next = prepareOnA("UPDATE big SET n = n + 1 WHERE id = 1");
        votes.await(Kind.PREPARED, next, Duration.ofSeconds(60));
        long applied = NODES.count(B, "SELECT last_value FROM public.big_applied") - 1; // the next one's row
        assertTrue("the apply stopped before the last rows: " + applied + " of " + rows + " applied", applied < rows - 100);
        assertAbandonedAndTheNextCommitted(large, next, "big", "1", r);
    }

    /**
     * The coordinator's ABORT decision (over the transport) stops the apply of a large transaction at once: it does not
     * wait for the {@code r}, which the stream reads only after every change was handed to the worker. The trigger of
     * the test above counts the rows applied.
     */
    @Test
    public void anAbortDecisionStopsTheApplyOfALargeTransactionAtOnce() throws Exception {
        int rows = 6000;
        NODES.execEverywhere("CREATE TABLE bigd (id int PRIMARY KEY, n int)");
        countAppliedUpdatesSlowlyOnB("bigd", "");
        Receiver r = startReceiver(30_000);
        NODES.exec(A, "INSERT INTO bigd SELECT g, 0 FROM generate_series(1, " + rows + ") g");
        assertSameOnBoth("bigd");
        String large = prepareOnA("UPDATE bigd SET n = n + 1");
        Await.until(WAIT, "B applies it", () -> NODES.count(B, "SELECT last_value FROM public.bigd_applied") > 1);
        r.abortDecided(large); // as ReceiverSupervisor does at the coordinator's ABORT
        NODES.exec(A, "ROLLBACK PREPARED '" + large + "'");
        String next = prepareOnA("UPDATE bigd SET n = n + 1 WHERE id = 1");
        votes.await(Kind.PREPARED, next, Duration.ofSeconds(60));
        long applied = NODES.count(B, "SELECT last_value FROM public.bigd_applied") - 1; // the next one's row
        // the r alone stops it with at most the worker's queue (1024 changes) and one batch (1000) left to apply
        assertTrue("the apply stopped at the decision: " + applied + " of " + rows + " applied", applied < rows - 2100);
        assertAbandonedAndTheNextCommitted(large, next, "bigd", "1", r);
    }

    /**
     * An ABORT decision that comes before B begins the transaction (both workers are busy) is remembered: the worker
     * that begins it later stops at its first change, without applying any.
     */
    @Test
    public void anAbortDecidedBeforeTheApplyBeginsStopsItAtItsFirstChange() throws Exception {
        int rows = 3000;
        NODES.execEverywhere("CREATE TABLE bige (id int PRIMARY KEY, n int)");
        countAppliedUpdatesSlowlyOnB("bige", "WHEN (OLD.id > 2)");
        Receiver r = startReceiver(30_000, 2);
        NODES.exec(A, "INSERT INTO bige SELECT g, 0 FROM generate_series(1, " + rows + ") g");
        assertSameOnBoth("bige");
        String large;
        String next;
        try (Connection local = NODES.node(B).connect(); Statement st = local.createStatement()) {
            st.execute("BEGIN");
            st.execute("SELECT * FROM bige WHERE id <= 2 FOR UPDATE");
            String first = prepareOnA("UPDATE bige SET n = n + 1 WHERE id = 1");
            String second = prepareOnA("UPDATE bige SET n = n + 1 WHERE id = 2");
            Await.until(WAIT, "both workers wait for the lock", () -> applyWaitingForLock("mtm_apply_1_%", 0) == 2);
            large = prepareOnA("UPDATE bige SET n = n + 1 WHERE id > 2");
            r.abortDecided(large); // as ReceiverSupervisor does at the coordinator's ABORT
            NODES.exec(A, "ROLLBACK PREPARED '" + large + "'");
            st.execute("ROLLBACK");
            for (String g : List.of(first, second)) {
                votes.await(Kind.PREPARED, g, WAIT);
                NODES.exec(A, "COMMIT PREPARED '" + g + "'");
            }
            next = prepareOnA("UPDATE bige SET n = n + 1 WHERE id = 3");
        }
        votes.await(Kind.PREPARED, next, Duration.ofSeconds(60));
        assertEquals("no row of the abandoned transaction was applied (the next one's only)", "1",
                NODES.query(B, "SELECT last_value FROM public.bige_applied"));
        assertAbandonedAndTheNextCommitted(large, next, "bige", "3", r);
    }

    /**
     * The peer writes node-local state ({@code mtm.*}: precommit records, live status) in plain transactions
     * all the time; they are not applied here and must not wait for earlier units like a real plain
     * transaction (they did, so every precommit of the peer stalled the stream behind any apply waiting for
     * a lock).
     */
    @Test
    public void nodeLocalPlainTransactionsDoNotWaitForAStuckApply() throws Exception {
        NODES.execEverywhere("CREATE TABLE nl (id int PRIMARY KEY, n int)", "CREATE TABLE mtm.peer_state (k int)");
        Receiver r = startReceiver(30_000);
        NODES.exec(A, "INSERT INTO nl SELECT g, 0 FROM generate_series(1, 2) g");
        assertSameOnBoth("nl");
        String stuck;
        try (Connection local = NODES.node(B).connect(); Statement st = local.createStatement()) {
            st.execute("BEGIN");
            st.execute("SELECT * FROM nl WHERE id = 1 FOR UPDATE");
            stuck = prepareOnA("UPDATE nl SET n = n + 1 WHERE id = 1");
            Await.until(WAIT, "its apply waits for the lock", () -> applyWaitingForLock("mtm_apply_1_%", 0) == 1);
            NODES.exec(A, "INSERT INTO mtm.peer_state VALUES (1)", "INSERT INTO mtm.peer_state VALUES (2)");
            String next = prepareOnA("UPDATE nl SET n = n + 1 WHERE id = 2");
            votes.await(Kind.PREPARED, next, Duration.ofSeconds(15)); // far below the 30 s lock bound
            NODES.exec(A, "COMMIT PREPARED '" + next + "'");
            votes.await(Kind.COMMITTED, next, WAIT);
            st.execute("ROLLBACK");
        }
        votes.await(Kind.PREPARED, stuck, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + stuck + "'");
        assertSameOnBoth("nl");
        assertEquals("1,1", NODES.query(B, "SELECT string_agg(n::text, ',' ORDER BY id) FROM nl"));
        assertEquals("node-local state is not applied", "0", NODES.query(B, "SELECT count(*) FROM mtm.peer_state"));
        assertEquals("the receiver did not fail", 0, r.failures());
    }

    @Test
    public void restartAfterUnitsFinishedOutOfOrderAppliesEachExactlyOnce() throws Exception {
        NODES.execEverywhere("CREATE TABLE oo (id int PRIMARY KEY, n int)");
        Receiver first = startReceiver(30_000);
        NODES.exec(A, "INSERT INTO oo SELECT g, 0 FROM generate_series(1, 3) g");
        assertSameOnBoth("oo");
        String stuck;
        String committed;
        String prepared;
        try (Connection local = NODES.node(B).connect(); Statement st = local.createStatement()) {
            st.execute("BEGIN");
            st.execute("SELECT * FROM oo WHERE id = 1 FOR UPDATE");
            stuck = prepareOnA("UPDATE oo SET n = n + 1 WHERE id = 1");
            committed = prepareOnA("UPDATE oo SET n = n + 1 WHERE id = 2");
            votes.await(Kind.PREPARED, committed, WAIT);
            NODES.exec(A, "COMMIT PREPARED '" + committed + "'");
            votes.await(Kind.COMMITTED, committed, WAIT); // finished on B after a unit still running
            prepared = prepareOnA("UPDATE oo SET n = n + 1 WHERE id = 3");
            votes.await(Kind.PREPARED, prepared, WAIT);

            first.stop(); // the first transaction's apply is interrupted and rolled back
            st.execute("ROLLBACK");
        }
        assertEquals("0,1,0", NODES.query(B, "SELECT string_agg(n::text, ',' ORDER BY id) FROM oo"));
        votes.clear();

        startReceiver(30_000); // streams again from before the interrupted transaction
        votes.await(Kind.PREPARED, stuck, WAIT);
        votes.await(Kind.PREPARED, prepared, WAIT);
        assertTrue(NODES.prepared(B, prepared));
        NODES.exec(A, "COMMIT PREPARED '" + stuck + "'", "COMMIT PREPARED '" + prepared + "'");
        votes.await(Kind.COMMITTED, stuck, WAIT);
        votes.await(Kind.COMMITTED, prepared, WAIT);
        assertSameOnBoth("oo");
        assertEquals("each applied once", "1,1,1", NODES.query(B, "SELECT string_agg(n::text, ',' ORDER BY id) FROM oo"));
        assertEquals("the committed one was not committed again", 0, votes.count(Kind.COMMITTED, committed));
        assertFalse(NODES.prepared(B, committed));
    }

    @Test
    public void concurrentWritersAndAKillOfThisNodesPostgresApplyEachTransactionOnce() throws Exception {
        NODES.execEverywhere("CREATE TABLE ctr (id int PRIMARY KEY, n int)", "CREATE TABLE events (writer int, i int)",
                "ALTER TABLE events REPLICA IDENTITY FULL");
        startReceiver(5_000);
        NODES.exec(A, "INSERT INTO ctr SELECT g, 0 FROM generate_series(1, 4) g");
        assertSameOnBoth("ctr");
        int writers = 4;
        int perWriter = 60;
        AtomicReference<Exception> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 1; w <= writers; w++) {
            int writer = w;
            Thread t = new Thread(() -> {
                try (Connection c = NODES.node(A).connect(); Statement st = c.createStatement()) {
                    for (int i = 1; i <= perWriter; i++) {
                        st.execute("BEGIN");
                        st.execute("UPDATE ctr SET n = n + 1 WHERE id = " + writer);
                        st.execute("INSERT INTO events VALUES (" + writer + ", " + i + ")");
                        st.execute("COMMIT PREPARED '" + NODES.prepareAsGateway(st, A) + "'");
                    }
                } catch (Exception e) {
                    failure.set(e);
                }
            });
            threads.add(t);
            t.start();
        }
        Await.until(WAIT, "B applied some", () -> NODES.count(B, "SELECT count(*) FROM events") > 40);
        NODES.node(B).kill();
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(null, failure.get());
        NODES.node(B).start();
        assertSameOnBoth("events");
        assertSameOnBoth("ctr");
        assertEquals(String.valueOf(writers * perWriter), NODES.query(B, "SELECT count(*) FROM events"));
        assertEquals(String.valueOf(writers * perWriter), NODES.query(B, "SELECT count(DISTINCT (writer, i)) FROM events"));
        assertEquals(String.valueOf(writers * perWriter), NODES.query(B, "SELECT sum(n) FROM ctr"));
        assertEquals("no prepared transaction left on B", "0", NODES.query(B, "SELECT count(*) FROM pg_prepared_xacts"));
    }

    /**
     * A trigger of B's on {@code table}, fired by the apply's updates of rows matching {@code when} (may be empty),
     * counts them in the sequence {@code <table>_applied} (which a rollback does not undo) and makes each take 2 ms.
     */
    private static void countAppliedUpdatesSlowlyOnB(String table, String when) throws Exception {
        NODES.exec(B, "CREATE SEQUENCE public." + table + "_applied",
                "CREATE FUNCTION public." + table + "_slow() RETURNS trigger LANGUAGE plpgsql AS"
                        + " $$BEGIN PERFORM pg_catalog.nextval('public." + table + "_applied'); PERFORM pg_catalog.pg_sleep(0.002);"
                        + " RETURN NEW; END$$",
                "CREATE TRIGGER " + table + "_slow BEFORE UPDATE ON " + table + " FOR EACH ROW " + when
                        + " EXECUTE FUNCTION public." + table + "_slow()",
                "ALTER TABLE " + table + " ENABLE ALWAYS TRIGGER " + table + "_slow");
    }

    /** B neither voted on nor kept {@code large}; {@code next} (prepared on A, voted by B) commits; the sums agree. */
    private void assertAbandonedAndTheNextCommitted(String large, String next, String table, String sum, Receiver r)
            throws Exception {
        assertEquals("no vote for the abandoned transaction", 0,
                votes.count(Kind.PREPARED, large) + votes.count(Kind.ABORTED, large));
        assertFalse(NODES.prepared(B, large));
        NODES.exec(A, "COMMIT PREPARED '" + next + "'");
        votes.await(Kind.COMMITTED, next, WAIT);
        assertSameOnBoth(table);
        assertEquals("nothing of the abandoned transaction remains", sum, NODES.query(B, "SELECT sum(n) FROM " + table));
        assertEquals("the receiver did not fail", 0, r.failures());
    }
}
