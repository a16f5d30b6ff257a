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

import org.junit.rules.ExternalResource;
import org.mtm.itests.harness.ClientOutcome;
import org.mtm.itests.harness.ClusterInvariants;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;

/**
 * One writer per chosen gateway inserting numbered rows (id = round × 10,000,000 + writer × 1,000,000 + sequence: loads
 * of different rounds share the tables) into {@code written} and into
 * {@code written_nopk} (no primary key: a second apply would leave a duplicate instead of failing), reconnecting when
 * its gateway goes away and waiting while its node refuses work (57P03). {@link #stopAndCheck} then checks that every
 * acknowledged write is on every node, every write that got a definite error is on none, one whose outcome the
 * client could not learn is on all or none, and nothing was applied twice.
 */
final class WriteLoad {
    /** Bound on one write, and on the writers' stop. */
    static final Duration HANG = Duration.ofSeconds(70);
    /** Bound on one node's unavailability (a gateway that accepts no connection, a node that is not online). */
    private static final Duration BACK = Duration.ofSeconds(90);
    private static final long WRITER = 1_000_000L;
    private static final long ROUND = 10 * WRITER;

    /**
     * One attempt: acknowledged, or the error and whether COMMIT itself failed. A COMMIT that ends with the connection
     * (FATAL, or a broken link) leaves the outcome unknown to the client, as with PostgreSQL itself.
     */
    record Write(long id, boolean acknowledged, String sqlState, String message, boolean atCommit, boolean connectionEnded,
                 long millis) {
        boolean outcomeUnknown() {
            return ClientOutcome.UNKNOWN_STATES.contains(sqlState) || atCommit && connectionEnded;
        }

        int writer() {
            return (int) (id % ROUND / WRITER);
        }
    }

    private final TestCluster cluster;
    private final String who;
    private final long base;
    private final ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<Future<?>> writers = new ArrayList<>();

    private WriteLoad(TestCluster cluster, String who, int round) {
        this.cluster = cluster;
        this.who = who;
        this.base = round * ROUND;
    }

    /**
     * The cluster of a test class that runs write loads ({@code @ClassRule}): booted and initialised with the load's
     * tables before the class, its invariants checked and stopped after it.
     */
    static final class Cluster extends ExternalResource {
        private final String name;
        private TestCluster cluster;

        private final java.util.function.Consumer<KarafNode> configure;

        Cluster(String name) {
            this(name, node -> { });
        }

        /** {@code configure} applies to each node before its first start. */
        Cluster(String name, java.util.function.Consumer<KarafNode> configure) {
            this.name = name;
            this.configure = configure;
        }

        @Override
        protected void before() throws SQLException {
            cluster = TestCluster.initialisedWith(name, configure);
            try {
                Sql.execute(cluster.gateway(1), "CREATE TABLE written (id bigint PRIMARY KEY, writer int NOT NULL)");
                Sql.execute(cluster.gateway(1), "CREATE TABLE written_nopk (id bigint NOT NULL, writer int NOT NULL)");
            } catch (SQLException | RuntimeException e) {
                cluster.close(); // after() does not run when before() failed
                cluster = null;
                throw e;
            }
        }

        @Override
        protected void after() {
            if (cluster != null) {
                cluster.checkInvariantsAndClose();
            }
        }

        TestCluster get() {
            return cluster;
        }
    }

    /** Starts one writer on every gateway (round 0). */
    static WriteLoad start(TestCluster cluster, String who) {
        return start(cluster, who, 0, 1, 2, 3);
    }

    /** Starts one writer on the gateway of each of {@code nodes}; ids of {@code round} (0..9). */
    static WriteLoad start(TestCluster cluster, String who, int round, int... nodes) {
        WriteLoad load = new WriteLoad(cluster, who, round);
        for (int node : nodes) {
            int writer = node;
            load.writers.add(load.pool.submit(() -> {
                load.write(writer);
                return null;
            }));
        }
        load.pool.shutdown();
        return load;
    }

    long acknowledged() {
        return writes.stream().filter(Write::acknowledged).count();
    }

    /** The attempts that were not acknowledged so far (errors and unknown outcomes). */
    List<Write> failed() {
        return writes.stream().filter(w -> !w.acknowledged()).toList();
    }

    /** Until {@code more} writes beyond those acknowledged now are acknowledged. */
    void awaitProgress(int more, Duration timeout, String when) {
        long base = acknowledged();
        Poll.until(more + " more writes acknowledged " + when, timeout, Duration.ofMillis(200), () -> acknowledged() >= base + more);
    }

    private void write(int writer) throws SQLException {
        Connection c = connect(writer);
        try {
            for (long seq = 0; c != null && !stop.get(); seq++) {
                long id = base + writer * WRITER + seq;
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
                    writes.add(new Write(id, false, Sql.sqlState(e), e.getMessage(), committing, ClientOutcome.connectionEnded(e),
                        TestCluster.millisSince(start)));
                    if (c.isClosed() || !c.isValid(5)) {
                        c.close();
                        c = connect(writer);
                    } else {
                        c.rollback();
                        if ("57P03".equals(Sql.sqlState(e))) {
                            awaitOnline(writer); // the node refuses work for a while
                        }
                    }
                }
            }
        } finally {
            if (c != null) {
                c.close();
            }
        }
    }

    /**
     * Stops the writers, waits for prepared transactions to settle and checks every node's rows against what the
     * clients saw; returns every attempt.
     */
    List<Write> stopAndCheck() throws Exception {
        return stopAndCheck(1, 2, 3);
    }

    /** {@link #stopAndCheck()} on {@code nodes} only (the others were disabled for good by the test). */
    List<Write> stopAndCheck(int... nodes) throws Exception {
        stop();
        for (Future<?> f : writers) {
            f.get();
        }
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
                TestCluster.log(who, "write %d failed%s: %s %s", w.id(), w.atCommit() ? " at COMMIT" : "", w.sqlState(), w.message());
            }
        }
        long longest = all.stream().mapToLong(Write::millis).max().orElse(0);
        TestCluster.log(who, "%d writes: %d acknowledged, %d failed, %d outcome unknown; longest %d ms; errors %s", all.size(),
            acknowledged.size(), refused.size(), unknown.size(), longest, errors);
        for (Write w : all) {
            assertTrue(w + " took longer than " + HANG, w.millis() <= HANG.toMillis());
        }

        // a write whose client lost its connection at COMMIT is still finished by its gateway: let that settle
        ClusterInvariants.awaitNoPreparedTransactions(java.util.Arrays.stream(nodes).mapToObj(cluster::node).toList(),
            ClusterInvariants.SETTLE);
        if (nodes.length == 3) {
            // a node excluded for a moment near the end (a slow heartbeat on a busy machine) may still be recovering
            // the last commits from a donor: compare once every node is back in the full generation
            String connected = java.util.Arrays.stream(nodes).sorted().mapToObj(Integer::toString)
                .collect(java.util.stream.Collectors.joining(",", "{", "}"));
            for (int id : nodes) {
                awaitNormal(cluster, id, connected, "before the checks");
            }
        }
        Set<Long> reference = null;
        for (int id : nodes) {
            try (Connection c = cluster.direct(id)) {
                // both tables from one snapshot: a recovery still applying would otherwise show between two reads
                c.setAutoCommit(false);
                c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                String ofThisLoad = " WHERE id >= " + base + " AND id < " + (base + ROUND);
                Set<Long> present = ids(c, "written" + ofThisLoad);
                List<Long> nopk = new ArrayList<>();
                for (Map<String, String> row : Sql.rows(c, "SELECT id FROM written_nopk" + ofThisLoad + " ORDER BY id")) {
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
                c.rollback();
            }
        }
        assertTrue("writes were acknowledged", acknowledged.size() > 0);
        return all;
    }

    /** Tells the writers to stop and waits until they have (again: at once). */
    void stop() throws InterruptedException {
        stop.set(true);
        assertTrue("writers still running " + HANG + " after they were told to stop", pool.awaitTermination(HANG.toSeconds(), TimeUnit.SECONDS));
    }

    /** A connection to the writer's gateway, once it accepts one (null once told to stop). */
    private Connection connect(int writer) {
        // Poll takes no null for an answer: "told to stop" is an empty Optional
        return Poll.until("gateway " + writer + " accepts connections", BACK, Duration.ofMillis(100), () -> {
            if (stop.get()) {
                return java.util.Optional.<Connection>empty();
            }
            try {
                return java.util.Optional.of(cluster.viaGateway(writer, "prepareThreshold", "1"));
            } catch (SQLException e) {
                return null;
            }
        }, c -> true).orElse(null);
    }

    /** Until node {@code id} says it is online again (or the writers are told to stop). */
    private void awaitOnline(int id) {
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

    /** Node {@code id} online with every node connected, and its receivers streaming. */
    static void awaitNormal(TestCluster cluster, int id, String when) {
        awaitNormal(cluster, id, "{1,2,3}", when);
    }

    /** Node {@code id} online with {@code connected} (e.g. "{1,2,4}" after node 3 was replaced), receivers streaming. */
    static void awaitNormal(TestCluster cluster, int id, String connected, String when) {
        Poll.until("node " + id + " online with normal receivers " + when, Duration.ofSeconds(120), Duration.ofMillis(250), () -> {
            try (Connection c = Sql.connect(cluster.gateway(id), "ApplicationName", "mtm_admin")) {
                return ("online|" + connected).equals(Sql.scalar(c, "SELECT status || '|' || connected::text FROM mtm.status()"))
                    && "0".equals(Sql.scalar(c, "SELECT count(*) FROM mtm.nodes() WHERE NOT is_self AND receiver_mode <> 'normal'"));
            } catch (SQLException e) {
                return false; // the gateway or the status view is not back yet
            }
        });
    }

    private static Set<Long> ids(Connection c, String tableAndFilter) throws SQLException {
        Set<Long> ids = new TreeSet<>();
        for (Map<String, String> row : Sql.rows(c, "SELECT id FROM " + tableAndFilter)) {
            ids.add(Long.parseLong(row.get("id")));
        }
        return ids;
    }
}
