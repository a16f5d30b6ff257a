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

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.Sql;

/**
 * Conflicting writes from different nodes (DESIGN §2 "Conflicts and deadlocks"): several clients on every gateway
 * update the same row in explicit transactions, round after round. Each attempt must end — committed, or failed with
 * 40001/40P01 — in bounded time (never a hang); afterwards every node holds the same data, the counter equals the
 * number of acknowledged increments, and exactly the acknowledged transactions left their mark (a row in a log
 * table written in the same transaction): every acknowledged commit is everywhere, every failed one nowhere.
 * Timings are measured and printed, not asserted beyond the hang bound: throughput under conflicts is not this
 * test's business.
 */
public class ConflictsIT {
    private static final String WHO = "ConflictsIT";
    /** No attempt may take longer than this: beyond it the commit path hangs, whatever the load. */
    private static final Duration HANG = Duration.ofSeconds(70);
    private static final long SLOW_MS = 5000;
    private static final Set<String> CONFLICT_STATES = Set.of("40001", "40P01");
    private static TestCluster cluster;

    @BeforeClass
    public static void cluster() throws SQLException {
        cluster = TestCluster.initialised("conflicts");
        Sql.execute(cluster.gateway(1), "CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL)");
        Sql.execute(cluster.gateway(1), "INSERT INTO counter VALUES (1, 0), (2, 0), (3, 0)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE acknowledged (client text, round int, counter int, PRIMARY KEY (client, round))");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    /** What one attempt ended as. */
    record Attempt(String client, int round, boolean committed, String sqlState, String message, long millis) {
    }

    @Test
    public void sameRowUpdatedThroughEveryGateway() throws Exception {
        // 2 clients per gateway on row 1, 20 s of load
        List<Attempt> attempts = run("hot-row", 2, Duration.ofSeconds(20), (client, round) -> new int[] {1});
        verify("hot-row", attempts, Map.of(1, attempts));
    }

    @Test
    public void twoRowsInOppositeOrderOnDifferentNodes() throws Exception {
        // a deadlock no single PostgreSQL can see: node A locks 2 then 3, node B locks 3 then 2
        List<Attempt> attempts = run("cross-order", 1, Duration.ofSeconds(15),
            (client, round) -> client.startsWith("gw1") || client.startsWith("gw3") ? new int[] {2, 3} : new int[] {3, 2});
        Map<Integer, List<Attempt>> byRow = new TreeMap<>();
        byRow.put(2, attempts);
        byRow.put(3, attempts);
        verify("cross-order", attempts, byRow);
        // with deadlock_prevention = off (the default) only the nodes' shared wait-for graph, over the transport, sees
        // these cycles: without it each would last until the apply's lock bound ended both transactions
        assertTrue("cross-order: no attempt was the victim of a global deadlock found from the shared waits",
            attempts.stream().anyMatch(a -> !a.committed() && a.message() != null && a.message().contains("(global deadlock)")));
    }

    interface Rows {
        int[] of(String client, int round);
    }

    /**
     * {@code perGateway} clients on each gateway, each running increment transactions (one UPDATE per row of
     * {@code rows}, then a log row) until {@code load} has passed; returns every attempt.
     */
    private static List<Attempt> run(String name, int perGateway, Duration load, Rows rows) throws Exception {
        ConcurrentLinkedQueue<Attempt> attempts = new ConcurrentLinkedQueue<>();
        long deadline = System.nanoTime() + load.toNanos();
        int clients = perGateway * TestCluster.NODES;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> futures = new ArrayList<>();
        for (int node = 1; node <= TestCluster.NODES; node++) {
            for (int k = 0; k < perGateway; k++) {
                String client = "gw" + node + "-" + name + "-" + k;
                int gateway = node;
                futures.add(pool.submit(() -> {
                    try (Connection c = cluster.viaGateway(gateway, "prepareThreshold", "1");
                         PreparedStatement update = c.prepareStatement("UPDATE counter SET n = n + 1 WHERE id = ?");
                         PreparedStatement log = c.prepareStatement("INSERT INTO acknowledged VALUES (?, ?, ?)")) {
                        c.setAutoCommit(false);
                        for (int round = 0; System.nanoTime() < deadline; round++) {
                            long start = System.nanoTime();
                            int[] ids = rows.of(client, round);
                            try {
                                for (int id : ids) {
                                    update.setInt(1, id);
                                    assertEquals(1, update.executeUpdate());
                                }
                                // the transaction's mark, identified by (client, round)
                                log.setString(1, client);
                                log.setInt(2, round);
                                log.setInt(3, ids[0]);
                                assertEquals(1, log.executeUpdate());
                                c.commit();
                                attempts.add(new Attempt(client, round, true, null, null, TestCluster.millisSince(start)));
                            } catch (SQLException e) {
                                String state = Sql.sqlState(e);
                                attempts.add(new Attempt(client, round, false, state, e.getMessage(), TestCluster.millisSince(start)));
                                c.rollback();
                            }
                        }
                    }
                    return null;
                }));
            }
        }
        pool.shutdown();
        // every client stops starting rounds at the deadline; the last attempt of each is bounded by HANG
        assertTrue(name + ": clients still running " + HANG.toSeconds() + " s after the load ended",
            pool.awaitTermination(load.toSeconds() + HANG.toSeconds() + 10, TimeUnit.SECONDS));
        for (Future<?> f : futures) {
            f.get();
        }
        return new ArrayList<>(attempts);
    }

    private static void verify(String name, List<Attempt> attempts, Map<Integer, List<Attempt>> incrementsByRow) throws SQLException {
        long committed = attempts.stream().filter(Attempt::committed).count();
        List<Attempt> failed = attempts.stream().filter(a -> !a.committed()).toList();
        long slow = attempts.stream().filter(a -> a.millis() > SLOW_MS).count();
        long longest = attempts.stream().mapToLong(Attempt::millis).max().orElse(0);
        Map<String, Long> byState = new TreeMap<>();
        failed.forEach(a -> byState.merge(String.valueOf(a.sqlState()), 1L, Long::sum));
        double meanMs = attempts.stream().mapToLong(Attempt::millis).average().orElse(0);
        TestCluster.log(WHO, "%s: %d attempts, %d committed, %d failed %s, abort rate %.1f %%, mean %.0f ms, longest %d ms, %d over %d ms",
            name, attempts.size(), committed, failed.size(), byState, 100.0 * failed.size() / Math.max(1, attempts.size()), meanMs,
            longest, slow, SLOW_MS);
        failed.stream().map(Attempt::message).distinct().limit(5).forEach(m -> TestCluster.log(WHO, "  e.g. %s", m));

        assertTrue(name + ": no attempt committed", committed > 0);
        for (Attempt a : attempts) {
            assertTrue(name + ": " + a + " took longer than " + HANG, a.millis() <= HANG.toMillis());
        }
        for (Attempt a : failed) {
            assertTrue(name + ": an attempt failed with something other than a conflict (40001/40P01): " + a,
                CONFLICT_STATES.contains(a.sqlState()));
        }

        // acknowledged → everywhere, failed → nowhere; counters equal the acknowledged increments, on every node, now
        Set<String> acknowledged = new TreeSet<>();
        attempts.stream().filter(Attempt::committed).forEach(a -> acknowledged.add(a.client() + "/" + a.round()));
        String prefix = "gw%-" + name + "-%";
        for (int id = 1; id <= TestCluster.NODES; id++) {
            Set<String> logged = new TreeSet<>();
            for (Map<String, String> row : Sql.rows(cluster.postgres(id), "SELECT client || '/' || round AS k FROM acknowledged WHERE client LIKE '"
                    + prefix + "'")) {
                logged.add(row.get("k"));
            }
            assertEquals(name + ": the transactions logged on node" + id + " are exactly the acknowledged ones", acknowledged, logged);
            for (Map.Entry<Integer, List<Attempt>> row : incrementsByRow.entrySet()) {
                long expected = row.getValue().stream().filter(Attempt::committed).count();
                assertEquals(name + ": counter " + row.getKey() + " on node" + id + " = acknowledged increments", Long.toString(expected),
                    Sql.scalar(cluster.postgres(id), "SELECT n FROM counter WHERE id = " + row.getKey()));
            }
        }
    }
}
