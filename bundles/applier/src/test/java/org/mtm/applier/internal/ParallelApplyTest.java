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
    public void stopReceivers() throws SQLException {
        receivers.forEach(Receiver::stop);
        NODES.rollbackAllPrepared();
    }

    private Receiver startReceiver(long lockBoundMs) {
        Receiver r = new Receiver(B, NODES.clusterNode(A), NODES.node(B), votes, new ApplierSettings(lockBoundMs, 4),
                () -> 0L, 1).start();
        receivers.add(r);
        return r;
    }

    private static String prepareOnA(String... statements) throws SQLException {
        try (Connection c = NODES.node(A).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            for (String s : statements) {
                st.execute(s);
            }
            String gid = "MTM-1-" + NODES.queryIn(st, "SELECT pg_current_xact_id()::text") + "-1";
            st.execute("PREPARE TRANSACTION '" + gid + "'");
            return gid;
        }
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
                        String gid = "MTM-1-" + NODES.queryIn(st, "SELECT pg_current_xact_id()::text") + "-1";
                        st.execute("PREPARE TRANSACTION '" + gid + "'");
                        st.execute("COMMIT PREPARED '" + gid + "'");
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
}
