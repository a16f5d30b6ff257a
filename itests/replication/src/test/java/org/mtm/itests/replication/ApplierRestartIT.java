package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.PgTools;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;

/**
 * The applier bundle restarted on a live node in the middle of a write load (DESIGN §5 hot-swap rule, issue 3 point
 * 3 "applied exactly once across restarts of the applier bundle"): writers on every gateway insert numbered rows
 * while {@code bundle:restart org.mtm.applier} runs three times on node 2's console. Afterwards every acknowledged write is
 * on every node, every write that got a definite error is on none, one whose outcome the client could not learn is on
 * all or none — and nothing was applied twice: the rows also go to a table without a primary key (replica identity
 * full), where a second apply would leave a duplicate instead of failing.
 */
public class ApplierRestartIT {
    private static final String WHO = "ApplierRestartIT";
    private static final Duration LOAD = Duration.ofSeconds(30);
    private static final int RESTARTS = 3;
    private static final Duration HANG = Duration.ofSeconds(70);
    /** The client cannot know the outcome: the connection broke, or the gateway said "resolution unknown". */
    private static final Set<String> UNKNOWN_OUTCOME = Set.of("08006", "08003", "08007", "08001");
    private static TestCluster cluster;

    @BeforeClass
    public static void cluster() throws SQLException {
        cluster = TestCluster.initialised("applier-restart");
        Sql.execute(cluster.gateway(1), "CREATE TABLE written (id bigint PRIMARY KEY, writer int NOT NULL)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE written_nopk (id bigint NOT NULL, writer int NOT NULL)");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    record Write(long id, boolean acknowledged, String sqlState, String message, long millis) {
    }

    @Test
    public void everyAcknowledgedWriteEverywhereNothingTwiceAcrossApplierRestarts() throws Exception {
        ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(TestCluster.NODES);
        List<Future<?>> writers = new ArrayList<>();
        for (int node = 1; node <= TestCluster.NODES; node++) {
            int writer = node;
            writers.add(pool.submit(() -> {
                Connection c = cluster.viaGateway(writer, "prepareThreshold", "1");
                try {
                    for (long seq = 0; !stop.get(); seq++) {
                        long id = writer * 1_000_000L + seq;
                        long start = System.nanoTime();
                        try {
                            c.setAutoCommit(false);
                            try (PreparedStatement a = c.prepareStatement("INSERT INTO written VALUES (?, ?)");
                                 PreparedStatement b = c.prepareStatement("INSERT INTO written_nopk VALUES (?, ?)")) {
                                for (PreparedStatement ps : List.of(a, b)) {
                                    ps.setLong(1, id);
                                    ps.setInt(2, writer);
                                    ps.executeUpdate();
                                }
                            }
                            c.commit();
                            writes.add(new Write(id, true, null, null, TestCluster.millisSince(start)));
                        } catch (SQLException e) {
                            writes.add(new Write(id, false, Sql.sqlState(e), e.getMessage(), TestCluster.millisSince(start)));
                            if (c.isClosed() || !c.isValid(5)) {
                                c.close();
                                c = cluster.viaGateway(writer, "prepareThreshold", "1");
                            } else {
                                c.rollback();
                            }
                        }
                    }
                } finally {
                    c.close();
                }
                return null;
            }));
        }
        pool.shutdown();
        long start = System.nanoTime();
        List<String> restarts = new ArrayList<>();
        try {
            for (int i = 0; i < RESTARTS; i++) {
                // let the writers run, then restart node 2's applier under them
                long base = writes.stream().filter(Write::acknowledged).count();
                Poll.until("30 writes acknowledged before restart " + (i + 1), Duration.ofSeconds(60), Duration.ofMillis(200),
                    () -> writes.stream().filter(Write::acknowledged).count() >= base + 30);
                long t = System.nanoTime();
                String out = cluster.node(2).execute("bundle:restart org.mtm.applier");
                restarts.add(String.format("restart %d at %d ms took %d ms%s", i + 1, TestCluster.millisSince(start),
                    TestCluster.millisSince(t), out.isBlank() ? "" : ": " + out.strip()));
            }
            // the applier is back: node 2's receivers are normal again and writes keep flowing
            Poll.until("node 2's receivers normal again after the restarts", Duration.ofSeconds(60), Duration.ofMillis(500),
                () -> PgTools.csv(PgTools.psql(cluster.gateway(2), null, Duration.ofSeconds(30), "--csv", "-c",
                    "SELECT receiver_mode FROM mtm.nodes() WHERE NOT is_self").stdout()).stream()
                    .allMatch(r -> "normal".equals(r.get("receiver_mode"))));
            long acknowledgedBefore = writes.stream().filter(Write::acknowledged).count();
            Poll.until("writes acknowledged after the restarts", LOAD, Duration.ofMillis(200),
                () -> writes.stream().filter(Write::acknowledged).count() >= acknowledgedBefore + 60);
        } finally {
            stop.set(true);
        }
        assertTrue("writers still running " + HANG + " after they were told to stop", pool.awaitTermination(HANG.toSeconds(), TimeUnit.SECONDS));
        for (Future<?> f : writers) {
            f.get();
        }
        restarts.forEach(r -> TestCluster.log(WHO, "%s", r));

        List<Write> all = new ArrayList<>(writes);
        Set<Long> acknowledged = new TreeSet<>();
        Set<Long> refused = new TreeSet<>();
        Set<Long> unknown = new TreeSet<>();
        Map<String, Long> errors = new TreeMap<>();
        for (Write w : all) {
            if (w.acknowledged()) {
                acknowledged.add(w.id());
            } else {
                errors.merge(w.sqlState() + " " + w.message(), 1L, Long::sum);
                (UNKNOWN_OUTCOME.contains(w.sqlState()) ? unknown : refused).add(w.id());
            }
        }
        long longest = all.stream().mapToLong(Write::millis).max().orElse(0);
        TestCluster.log(WHO, "%d writes: %d acknowledged, %d failed, %d outcome unknown; longest %d ms; errors %s", all.size(),
            acknowledged.size(), refused.size(), unknown.size(), longest, errors);
        for (Write w : all) {
            assertTrue(w + " took longer than " + HANG, w.millis() <= HANG.toMillis());
        }

        Set<Long> reference = null;
        for (int id = 1; id <= TestCluster.NODES; id++) {
            try (Connection c = cluster.direct(id)) {
                Set<Long> present = ids(c, "written");
                List<Long> nopk = new ArrayList<>();
                for (Map<String, String> row : Sql.rows(c, "SELECT id FROM written_nopk ORDER BY id")) {
                    nopk.add(Long.parseLong(row.get("id")));
                }
                assertEquals("node" + id + ": rows without a primary key, each once (nothing applied twice)", new ArrayList<>(present), nopk);
                Set<Long> missing = new TreeSet<>(acknowledged);
                missing.removeAll(present);
                assertEquals("node" + id + ": acknowledged writes missing", Set.of(), missing);
                Set<Long> resurrected = new TreeSet<>(refused);
                resurrected.retainAll(present);
                assertEquals("node" + id + ": writes that got an error but are there", Set.of(), resurrected);
                Set<Long> stray = new TreeSet<>(present);
                stray.removeAll(acknowledged);
                stray.removeAll(unknown);
                assertEquals("node" + id + ": rows nobody wrote", Set.of(), stray);
                if (reference == null) {
                    reference = present;
                } else {
                    assertEquals("node" + id + " has the same rows as node1 (unknown outcomes included)", reference, present);
                }
            }
        }
        assertTrue("writes were acknowledged", acknowledged.size() > 0);
    }

    private static Set<Long> ids(Connection c, String table) throws SQLException {
        Set<Long> ids = new TreeSet<>();
        for (Map<String, String> row : Sql.rows(c, "SELECT id FROM " + table)) {
            ids.add(Long.parseLong(row.get("id")));
        }
        return ids;
    }
}
