package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.ClusterConfig;
import org.mtm.api.GenerationMarker;
import org.mtm.api.ReplicationPlan;
import org.mtm.testing.Await;

/**
 * Recovery's one-phase asynchronous apply ({@code enable_async_3pc_on_catchup}) on three real PostgreSQL servers:
 * node 3 recovers from donor 1, whose own two-phase transactions are prepared and committed in a chosen order
 * (node 2 only exists as a peer of the cluster configuration).
 */
public class OnePhaseCatchUpTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final AtomicLong GENERATIONS = new AtomicLong(1);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(3);

    @Rule
    public final Timeout timeout = Timeout.seconds(300);

    private final List<String> points = new CopyOnWriteArrayList<>();
    private ReceiverSupervisor supervisor;
    private TestClusterState state;

    @After
    public void stop() throws Exception {
        RecoveryApplier.afterUnit = null;
        RecoveryApplier.beforeUnit = null;
        stopSupervisor();
        NODES.rollbackAllPrepared();
    }

    private void stopSupervisor() throws Exception {
        if (supervisor != null) {
            supervisor.deactivate();
            supervisor = null;
            NODES.awaitStreamGone(3, 1);
            NODES.awaitStreamGone(3, 2);
        }
    }

    private void node3(ReplicationPlan plan, boolean onePhase) {
        node3(plan, onePhase, 1);
    }

    /** Node 3's receivers; {@code maxWorkers} > 1 lets a one-phase catch-up apply in parallel. */
    private void node3(ReplicationPlan plan, boolean onePhase, int maxWorkers) {
        state = new TestClusterState(3);
        state.plan = plan;
        supervisor = new ReceiverSupervisor(NODES.node(3), (node, message) -> { },
                new ApplierSettings(500, maxWorkers, DeadlockPrevention.OFF, false, onePhase));
        supervisor.clusterState(state);
        supervisor.clusterConfigChanged(Optional.of(new ClusterConfig(3,
                List.of(NODES.clusterNode(1), NODES.clusterNode(2), NODES.clusterNode(3)))));
        supervisor.followPlanEvery(50);
    }

    private static void create(String table) throws Exception {
        NODES.execEverywhere("CREATE TABLE " + table + " (id int PRIMARY KEY, v int)",
                "CREATE TABLE " + table + "_nokey (n int)", "ALTER TABLE " + table + "_nokey REPLICA IDENTITY FULL");
    }

    private static String insert(String table, int id) {
        return "INSERT INTO " + table + " VALUES (" + id + ", " + id + "); INSERT INTO " + table + "_nokey VALUES (" + id + ")";
    }

    private static long marker() throws Exception {
        long g = GENERATIONS.incrementAndGet();
        NODES.exec(1, GenerationMarker.emitSql(g));
        return g;
    }

    private void awaitReached(long g) throws Exception {
        Await.until(WAIT, "node 3 reached donor 1's marker", () -> supervisor.recovery().reached());
        assertEquals(g, supervisor.recovery().markerGeneration());
    }

    private static void assertSameAsDonor(String table) throws Exception {
        for (String t : List.of(table, table + "_nokey")) {
            Await.until(WAIT, t + " identical on node 3", () -> NODES.md5(1, t).equals(NODES.md5(3, t)));
        }
        assertEquals("nothing applied twice", "0",
                NODES.query(3, "SELECT count(*) FROM (SELECT n FROM " + table + "_nokey GROUP BY n HAVING count(*) > 1) d"));
    }

    @Test
    public void interleavedTransactionsAreCommittedAtTheirCommitPreparedInOnePhase() throws Exception {
        String t = "p1";
        create(t);
        String t1 = NODES.prepare(1, insert(t, 1), "UPDATE " + t + " SET v = 10 WHERE id = 1");
        String t2 = NODES.prepare(1, insert(t, 2));
        NODES.exec(1, "COMMIT PREPARED '" + t2 + "'");
        NODES.exec(1, "COMMIT PREPARED '" + t1 + "'");
        long g = marker();

        RecoveryApplier.afterUnit = points::add;
        node3(ReplicationPlan.recovery(1, g), true);
        awaitReached(g);
        assertEquals("each committed at its K, none prepared", List.of("K " + t2, "K " + t1),
                points.stream().filter(p -> p.endsWith(t1) || p.endsWith(t2)).toList());
        assertEquals("10", NODES.query(3, "SELECT v FROM " + t + " WHERE id = 1"));
        assertEquals("logged as a PREPARE would be", 2, NODES.count(3,
                "SELECT count(*) FROM mtm.applied_xacts WHERE origin = 1 AND gid IN ('" + t1 + "', '" + t2 + "')"));
        assertEquals(0, NODES.count(3, "SELECT count(*) FROM pg_prepared_xacts"));
        assertSameAsDonor(t);
    }

    @Test
    public void aTransactionStillPreparedAtTheMarkerIsPreparedAndTheNormalStreamCommitsIt() throws Exception {
        String t = "p2";
        create(t);
        String before = NODES.prepare(1, insert(t, 1));
        String open = NODES.prepare(1, insert(t, 2));
        NODES.exec(1, "COMMIT PREPARED '" + before + "'");
        long g = marker();

        node3(ReplicationPlan.recovery(1, g), true);
        awaitReached(g);
        assertTrue("prepared at the marker", NODES.prepared(3, open));
        assertEquals("1", NODES.query(3, "SELECT count(*) FROM " + t));
        assertEquals(0, NODES.count(3, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + before + "'"));

        state.plan = ReplicationPlan.NORMAL;
        NODES.exec(1, "COMMIT PREPARED '" + open + "'");
        Await.until(WAIT, "the normal stream's K committed it", () -> !NODES.prepared(3, open)
                && NODES.count(3, "SELECT count(*) FROM " + t + " WHERE id = 2") == 1);
        assertSameAsDonor(t);
    }

    @Test
    public void aCrashRightAfterAOnePhaseCommitBeforeItsSyncPointLosesNothingAndAppliesNothingTwice() throws Exception {
        String t = "p3";
        create(t);
        for (int i = 1; i <= 20; i++) {
            NODES.exec(1, "BEGIN; " + insert(t, i) + "; PREPARE TRANSACTION 'crash-" + i + "'", "COMMIT PREPARED 'crash-" + i + "'");
        }
        long g = marker();

        AtomicBoolean crashed = new AtomicBoolean();
        RecoveryApplier.afterUnit = point -> {
            if (point.equals("K crash-10") && crashed.compareAndSet(false, true)) {
                NODES.node(3).kill(); // PostgreSQL crashes right after this asynchronous COMMIT, before any sync point
                throw new IllegalStateException("test: node 3 crashed after " + point);
            }
        };
        node3(ReplicationPlan.recovery(1, g), true);
        Await.until(WAIT, "the crash", crashed::get);
        NODES.node(3).start();
        awaitReached(g);
        assertSameAsDonor(t);
        assertEquals(0, NODES.count(3, "SELECT count(*) FROM pg_prepared_xacts"));
    }

    /**
     * Parallel one-phase catch-up (issue 9 item 4): chains of units that each update the row the unit before them
     * committed (so each depends on the previous one: it prepared after that one's K) are interleaved with units whose
     * PREPARE-to-K windows overlap. Workers apply them (their threads are seen), and every chain's row ends with its
     * last value, as on the donor: a unit applied before one it depends on would leave an older value (or find no
     * row). Nothing is applied twice, nothing is left prepared.
     */
    @Test
    public void parallelCatchUpAppliesOnWorkersAndKeepsTheOrderOfDependentUnits() throws Exception {
        String t = "p4";
        create(t);
        int chains = 6;
        int steps = 12;
        for (int c = 1; c <= chains; c++) {
            NODES.exec(1, "BEGIN; " + insert(t, c) + "; PREPARE TRANSACTION 'chain-" + c + "-0'", "COMMIT PREPARED 'chain-" + c + "-0'");
        }
        int solo = 1000;
        for (int step = 1; step <= steps; step++) {
            // every chain's next step prepared before any of them commits: overlapping windows, applied in parallel;
            // each step prepares after the previous step's K: it must wait for it
            List<String> gids = new java.util.ArrayList<>();
            for (int c = 1; c <= chains; c++) {
                String gid = "chain-" + c + "-" + step;
                NODES.exec(1, "BEGIN; UPDATE " + t + " SET v = " + (c * 100 + step) + " WHERE id = " + c + "; INSERT INTO " + t
                        + "_nokey VALUES (" + (solo++) + "); PREPARE TRANSACTION '" + gid + "'");
                gids.add(gid);
            }
            java.util.Collections.reverse(gids);
            for (String gid : gids) {
                NODES.exec(1, "COMMIT PREPARED '" + gid + "'");
            }
        }
        long g = marker();

        java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        RecoveryApplier.afterUnit = point -> {
            points.add(point);
            threads.add(Thread.currentThread().getName());
        };
        // the second-to-last step of chain 1 is held up a moment: its last step, handed out after it, must wait for it
        RecoveryApplier.beforeUnit = point -> {
            if (point.equals("K chain-1-" + (steps - 1))) {
                try {
                    Thread.sleep(1000); // a gap on purpose (see above)
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        node3(ReplicationPlan.recovery(1, g), true, 4);
        awaitReached(g);
        assertTrue("units were applied by recovery workers: " + threads,
                threads.stream().anyMatch(n -> n.startsWith("mtm-recovery-3-from-1-")));
        for (int c = 1; c <= chains; c++) {
            assertEquals("chain " + c + "'s last step", Integer.toString(c * 100 + steps),
                    NODES.query(3, "SELECT v FROM " + t + " WHERE id = " + c));
        }
        assertEquals(0, NODES.count(3, "SELECT count(*) FROM pg_prepared_xacts"));
        assertSameAsDonor(t);
    }

    /** As the serial crash test, with recovery workers: the progress recorded never passes a unit still running. */
    @Test
    public void aCrashDuringAParallelCatchUpLosesNothingAndAppliesNothingTwice() throws Exception {
        String t = "p5";
        create(t);
        for (int i = 1; i <= 40; i += 2) { // pairs: P(a) P(b) K(b) K(a)
            NODES.exec(1, "BEGIN; " + insert(t, i) + "; PREPARE TRANSACTION 'pcrash-" + i + "'",
                    "BEGIN; " + insert(t, i + 1) + "; PREPARE TRANSACTION 'pcrash-" + (i + 1) + "'",
                    "COMMIT PREPARED 'pcrash-" + (i + 1) + "'", "COMMIT PREPARED 'pcrash-" + i + "'");
        }
        long g = marker();

        AtomicBoolean crashed = new AtomicBoolean();
        RecoveryApplier.afterUnit = point -> {
            if (point.equals("K pcrash-20") && crashed.compareAndSet(false, true)) {
                NODES.node(3).kill(); // PostgreSQL crashes while other workers may still be applying
                throw new IllegalStateException("test: node 3 crashed after " + point);
            }
        };
        node3(ReplicationPlan.recovery(1, g), true, 4);
        Await.until(WAIT, "the crash", crashed::get);
        NODES.node(3).start();
        awaitReached(g);
        assertSameAsDonor(t);
        assertEquals(0, NODES.count(3, "SELECT count(*) FROM pg_prepared_xacts"));
    }

    /**
     * Catch-up with the switch off and on ends with the donor's content either way; the throughput of each is printed
     * (a figure, not a check). A short run by default; -Dmtm.measure.transactions=N for a longer one, and
     * -Dmtm.measure.load=true to keep nodes 1 and 2 committing two-phase transactions of their own meanwhile (the
     * disk and the two cores shared, as in the fault battery).
     */
    @Test
    public void catchUpOffAndOnBothReachTheDonorAndPrintTheirThroughput() throws Exception {
        int n = Integer.getInteger("mtm.measure.transactions", 100);
        boolean load = Boolean.getBoolean("mtm.measure.load");
        NODES.execEverywhere("CREATE TABLE m_load (id bigserial PRIMARY KEY, node int)");
        double off = catchUp("m_off", n, false, load, 1);
        double on = catchUp("m_on", n, true, load, 1);
        double parallel = catchUp("m_par", n, true, load, 4);
        System.out.printf("CATCH-UP THROUGHPUT (%d two-phase transactions of donor 1, interleaved in pairs, %s): "
                + "enable_async_3pc_on_catchup=false %.0f tx/s, true %.0f tx/s (x%.1f), true with 4 workers %.0f tx/s (x%.1f)%n", n,
                load ? "nodes 1 and 2 under a 2PC write load" : "no other load", off, on, on / off, parallel, parallel / off);
    }

    /** Two threads per node committing two-phase transactions until stopped. */
    private static List<Thread> load(AtomicBoolean stop) {
        List<Thread> threads = new java.util.ArrayList<>();
        for (int node = 1; node <= 2; node++) {
            for (int k = 0; k < 2; k++) {
                int id = node;
                Thread th = new Thread(() -> {
                    int i = 0;
                    while (!stop.get()) {
                        String gid = "load-" + id + "-" + Thread.currentThread().getId() + "-" + i++;
                        try {
                            NODES.exec(id, "BEGIN; INSERT INTO m_load (node) VALUES (" + id + "); PREPARE TRANSACTION '"
                                    + gid + "'", "COMMIT PREPARED '" + gid + "'");
                        } catch (java.sql.SQLException e) {
                            return;
                        }
                    }
                });
                th.start();
                threads.add(th);
            }
        }
        return threads;
    }

    private double catchUp(String t, int n, boolean onePhase, boolean withLoad, int maxWorkers) throws Exception {
        create(t);
        for (int i = 1; i <= n; i += 2) { // pairs: P(a) P(b) K(b) K(a)
            NODES.exec(1, "BEGIN; " + insert(t, i) + "; PREPARE TRANSACTION '" + t + "-" + i + "'",
                    "BEGIN; " + insert(t, i + 1) + "; PREPARE TRANSACTION '" + t + "-" + (i + 1) + "'",
                    "COMMIT PREPARED '" + t + "-" + (i + 1) + "'", "COMMIT PREPARED '" + t + "-" + i + "'");
        }
        long g = marker();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> threads = withLoad ? load(stop) : List.of();
        long start = System.nanoTime();
        node3(ReplicationPlan.recovery(1, g), onePhase, maxWorkers);
        Await.until(Duration.ofMinutes(4), "node 3 reached the marker", () -> supervisor.recovery().reached());
        double seconds = (System.nanoTime() - start) / 1e9;
        stop.set(true);
        for (Thread th : threads) {
            th.join();
        }
        assertFalse(NODES.md5(1, t).isEmpty());
        assertSameAsDonor(t);
        stopSupervisor();
        return (n + (n % 2)) / seconds;
    }
}
