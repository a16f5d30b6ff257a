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
import org.mtm.itests.harness.ClusterInvariants;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;

/**
 * The hot-swap rule (DESIGN §5): every mtm bundle survives {@code bundle:update} on a live node without losing
 * transactions — and issue 3 point 3, "applied exactly once across restarts of the applier bundle". Writers on every
 * gateway insert numbered rows (reconnecting when their gateway goes away) while node 2's console runs
 * {@code bundle:update} for each bundle in turn, api last (it refreshes every other bundle). After each update node 2
 * must be online again with normal receivers. Afterwards every acknowledged write is on every node, every write that
 * got a definite error is on none, one whose outcome the client could not learn is on all or none — and nothing was
 * applied twice: the rows also go to a table without a primary key (replica identity full), where a second apply
 * would leave a duplicate instead of failing.
 *
 * <p>Node 2's peers stay online throughout (an update takes far less than heartbeat_recv_timeout, and they keep node
 * 2's last beacon until its restarted status service has loaded its state); node 2 itself may refuse work (57P03) for
 * a moment after an update: those writes count as refused, and the writers retry.
 */
public class HotSwapIT {
    private static final String WHO = "HotSwapIT";
    private static final Duration LOAD = Duration.ofSeconds(30);
    private static final List<String> BUNDLES = List.of("org.mtm.applier", "org.mtm.transport", "org.mtm.consensus",
        "org.mtm.postgres", "org.mtm.sequence", "org.mtm.admin", "org.mtm.gateway", "org.mtm.applier", "org.mtm.api");
    private static final Duration HANG = Duration.ofSeconds(70);
    /** The client cannot know the outcome: the connection broke, or the gateway said "resolution unknown". */
    private static final Set<String> UNKNOWN_OUTCOME = Set.of("08006", "08003", "08007", "08001");
    private static TestCluster cluster;

    @BeforeClass
    public static void cluster() throws SQLException {
        cluster = TestCluster.initialised("hot-swap");
        Sql.execute(cluster.gateway(1), "CREATE TABLE written (id bigint PRIMARY KEY, writer int NOT NULL)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE written_nopk (id bigint NOT NULL, writer int NOT NULL)");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    /**
     * One attempt: acknowledged, or the error and whether COMMIT itself failed. A COMMIT that ends with the connection
     * (FATAL, or a broken link) leaves the outcome unknown to the client, as with PostgreSQL itself.
     */
    record Write(long id, boolean acknowledged, String sqlState, String message, boolean atCommit, boolean connectionEnded,
                 long millis) {
        boolean outcomeUnknown() {
            return UNKNOWN_OUTCOME.contains(sqlState) || atCommit && connectionEnded;
        }
    }

    @Test
    public void everyAcknowledgedWriteEverywhereNothingTwiceAcrossBundleUpdates() throws Exception {
        ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(TestCluster.NODES);
        List<Future<?>> writers = new ArrayList<>();
        for (int node = 1; node <= TestCluster.NODES; node++) {
            int writer = node;
            writers.add(pool.submit(() -> {
                Connection c = connect(writer, stop);
                try {
                    for (long seq = 0; c != null && !stop.get(); seq++) {
                        long id = writer * 1_000_000L + seq;
                        long start = System.nanoTime();
                        boolean committing = false;
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
                            committing = true;
                            c.commit();
                            writes.add(new Write(id, true, null, null, false, false, TestCluster.millisSince(start)));
                        } catch (SQLException e) {
                            writes.add(new Write(id, false, Sql.sqlState(e), e.getMessage(), committing, connectionEnded(e),
                                TestCluster.millisSince(start)));
                            if (c.isClosed() || !c.isValid(5)) {
                                c.close();
                                c = connect(writer, stop);
                            } else {
                                c.rollback();
                                if ("57P03".equals(Sql.sqlState(e))) {
                                    awaitOnline(writer, stop); // the node refuses work for a moment after an update
                                }
                            }
                        }
                    }
                } finally {
                    if (c != null) {
                        c.close();
                    }
                }
                return null;
            }));
        }
        pool.shutdown();
        long start = System.nanoTime();
        List<String> updates = new ArrayList<>();
        try {
            for (String bundle : BUNDLES) {
                // let the writers run, then update one bundle of node 2 under them
                long base = writes.stream().filter(Write::acknowledged).count();
                Poll.until("20 writes acknowledged before updating " + bundle, Duration.ofSeconds(90), Duration.ofMillis(200),
                    () -> writes.stream().filter(Write::acknowledged).count() >= base + 20);
                long t = System.nanoTime();
                String out = cluster.node(2).execute("bundle:update " + bundle);
                long updated = TestCluster.millisSince(t);
                awaitNode2Normal("after bundle:update " + bundle);
                updates.add(String.format("%s updated at %d ms in %d ms, node 2 normal again %d ms later%s", bundle,
                    TestCluster.millisSince(start), updated, TestCluster.millisSince(t) - updated, out.isBlank() ? "" : ": " + out.strip()));
            }
            long acknowledgedBefore = writes.stream().filter(Write::acknowledged).count();
            Poll.until("writes acknowledged after the updates", LOAD, Duration.ofMillis(200),
                () -> writes.stream().filter(Write::acknowledged).count() >= acknowledgedBefore + 60);
        } finally {
            stop.set(true);
        }
        assertTrue("writers still running " + HANG + " after they were told to stop", pool.awaitTermination(HANG.toSeconds(), TimeUnit.SECONDS));
        for (Future<?> f : writers) {
            f.get();
        }
        updates.forEach(u -> TestCluster.log(WHO, "%s", u));

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
                (w.outcomeUnknown() ? unknown : refused).add(w.id());
                TestCluster.log(WHO, "write %d failed%s: %s %s", w.id(), w.atCommit() ? " at COMMIT" : "", w.sqlState(), w.message());
            }
        }
        long longest = all.stream().mapToLong(Write::millis).max().orElse(0);
        TestCluster.log(WHO, "%d writes: %d acknowledged, %d failed, %d outcome unknown; longest %d ms; errors %s", all.size(),
            acknowledged.size(), refused.size(), unknown.size(), longest, errors);
        for (Write w : all) {
            assertTrue(w + " took longer than " + HANG, w.millis() <= HANG.toMillis());
            // node 2's peers keep its last beacon while it restarts a bundle (shorter than heartbeat_recv_timeout): online
            assertTrue("a write through node " + w.id() / 1_000_000 + " was refused as not online while only node 2 was"
                + " updated: " + w, w.id() / 1_000_000 == 2 || !"57P03".equals(w.sqlState()));
        }

        // a write whose client lost its connection at COMMIT is still finished by its gateway: let that settle
        ClusterInvariants.awaitNoPreparedTransactions(cluster.nodes(), ClusterInvariants.SETTLE);
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

    /** FATAL from the server or gateway, or no server answer at all: the connection is gone. */
    private static boolean connectionEnded(SQLException e) {
        if (e instanceof org.postgresql.util.PSQLException p && p.getServerErrorMessage() != null) {
            return "FATAL".equals(p.getServerErrorMessage().getSeverity()) || "PANIC".equals(p.getServerErrorMessage().getSeverity());
        }
        String state = Sql.sqlState(e);
        return state == null || state.startsWith("08");
    }

    /** Bound on one node's unavailability after an update (it takes well under a second here). */
    private static final Duration BACK = Duration.ofSeconds(60);

    /** A connection to the writer's gateway, once it accepts one again after an update (null once told to stop). */
    private static Connection connect(int writer, AtomicBoolean stop) {
        return Poll.until("gateway " + writer + " accepts connections again", BACK, Duration.ofMillis(100), () -> {
            try {
                return stop.get() ? null : cluster.viaGateway(writer, "prepareThreshold", "1");
            } catch (SQLException e) {
                return null;
            }
        }, c -> c != null || stop.get());
    }

    /** Until node {@code id} says it is online again (or the writers are told to stop). */
    private static void awaitOnline(int id, AtomicBoolean stop) {
        Poll.until("node " + id + " online again", BACK, Duration.ofMillis(100), () -> {
            if (stop.get()) {
                return true;
            }
            try (Connection c = Sql.connect(cluster.gateway(id), "ApplicationName", "mtm_admin")) {
                return "online".equals(Sql.scalar(c, "SELECT status FROM mtm.status()"));
            } catch (SQLException e) {
                return false;
            }
        });
    }

    /** Node 2 online in the same generation with every node connected, and its receivers streaming again. */
    private static void awaitNode2Normal(String when) {
        Poll.until("node 2 online with normal receivers " + when, Duration.ofSeconds(60), Duration.ofMillis(250), () -> {
            try (Connection c = Sql.connect(cluster.gateway(2), "ApplicationName", "mtm_admin")) {
                return "online|{1,2,3}".equals(Sql.scalar(c, "SELECT status || '|' || connected::text FROM mtm.status()"))
                    && "0".equals(Sql.scalar(c, "SELECT count(*) FROM mtm.nodes() WHERE NOT is_self AND receiver_mode <> 'normal'"));
            } catch (SQLException e) {
                return false; // the gateway or the status view is not back yet
            }
        });
    }

    private static Set<Long> ids(Connection c, String table) throws SQLException {
        Set<Long> ids = new TreeSet<>();
        for (Map<String, String> row : Sql.rows(c, "SELECT id FROM " + table)) {
            ids.add(Long.parseLong(row.get("id")));
        }
        return ids;
    }
}
