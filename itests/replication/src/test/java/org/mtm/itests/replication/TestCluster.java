package org.mtm.itests.replication;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.mtm.itests.harness.ClusterInvariants;
import org.mtm.itests.harness.ClusterInvariants.GenerationWatch;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.Sql;

/**
 * The 3-node cluster of one test class: booted in {@code @BeforeClass}, its generations watched from the start,
 * checked (DESIGN §8 invariants) and stopped in {@code @AfterClass}. Gateways are where clients write; each
 * node's own PostgreSQL port is where the tests look.
 */
final class TestCluster implements AutoCloseable {
    static final int NODES = 3;
    static final Duration ONLINE = Duration.ofSeconds(120);
    /**
     * These classes test replication, not failure detection: on a 2-core build machine shared with other builds the
     * whole machine stalls for a few seconds now and then (measured: 3.5 s; other clusters on the machine lost their
     * peers at the same instants), and with the default 2000 ms every node would drop its peers and refuse work
     * (57P03) in the middle of a test. Failure detection with the default is ThreeNodeClusterIT's subject.
     */
    static final long HEARTBEAT_RECV_TIMEOUT_MS = 10_000;

    private final String name;
    private final LocalCluster cluster;
    private GenerationWatch generations;
    private final long bootMillis;
    /** Nodes a test disabled for good (they must be dropped and added again): the invariants are the others'. */
    private final java.util.Set<Integer> leftOut = new java.util.TreeSet<>();

    private TestCluster(String name, LocalCluster cluster, long bootMillis) {
        this.name = name;
        this.cluster = cluster;
        this.bootMillis = bootMillis;
    }

    /** Three started nodes, not initialised. */
    static TestCluster fresh(String name) {
        return fresh(name, node -> { });
    }

    /** Three started nodes, not initialised; {@code configure} applies to each node before its first start. */
    static TestCluster fresh(String name, Consumer<KarafNode> configure) {
        return fresh(name, NODES, configure);
    }

    /** {@code count} started nodes, not initialised. */
    static TestCluster fresh(String name, int count, Consumer<KarafNode> configure) {
        long start = System.nanoTime();
        LocalCluster cluster = LocalCluster.boot(name, count, node -> configure.accept(
            node.configure("org.mtm.multimaster.cfg", "heartbeat_recv_timeout", Long.toString(HEARTBEAT_RECV_TIMEOUT_MS))));
        TestCluster test = new TestCluster(name, cluster, millisSince(start));
        log(name, "%d nodes ready in %d ms: %s", count, test.bootMillis, cluster.nodes());
        return test;
    }

    /** Three nodes initialised through the console, all online with every node connected. */
    static TestCluster initialised(String name) {
        return initialised(name, node -> { }, test -> { });
    }

    /** Something done on the started nodes before init_cluster (objects that exist before the cluster does). */
    interface BeforeInit {
        void run(TestCluster test) throws SQLException;
    }

    /** {@link #initialised(String)}, running {@code beforeInit} on the started nodes first. */
    static TestCluster initialisedAfter(String name, BeforeInit beforeInit) {
        return initialised(name, node -> { }, beforeInit);
    }

    /** {@link #initialised(String)}; {@code configure} applies to each node before its first start. */
    static TestCluster initialisedWith(String name, Consumer<KarafNode> configure) {
        return initialised(name, configure, test -> { });
    }

    /** {@code count} nodes initialised through the console, all online; {@code configure} as above. */
    static TestCluster initialisedWith(String name, int count, Consumer<KarafNode> configure) {
        return initialised(name, count, configure, test -> { });
    }

    private static TestCluster initialised(String name, Consumer<KarafNode> configure, BeforeInit beforeInit) {
        return initialised(name, NODES, configure, beforeInit);
    }

    private static TestCluster initialised(String name, int count, Consumer<KarafNode> configure, BeforeInit beforeInit) {
        TestCluster test = fresh(name, count, configure);
        try {
            beforeInit.run(test);
        } catch (SQLException e) {
            test.close();
            throw new IllegalStateException("before init_cluster: " + e.getMessage(), e);
        }
        try {
            long start = System.nanoTime();
            test.cluster.initThroughConsole(Duration.ofSeconds(90));
            long generation = test.cluster.awaitAllOnline(ONLINE);
            test.watchGenerations();
            log(name, "initialised, all online in generation %d, %d ms after init", generation, millisSince(start));
            return test;
        } catch (RuntimeException | Error e) {
            log(name, "cluster did not come online:\n%s", test.cluster.logTails(40));
            test.close();
            throw e;
        }
    }

    /** Starts sampling generation numbers (from now on they must never decrease). */
    void watchGenerations() {
        if (generations == null) {
            generations = new GenerationWatch(cluster.nodes(), Duration.ofMillis(500));
        }
    }

    /** Node {@code id} was disabled for good by the test: the end-of-class invariants hold among the others. */
    void leaveOut(int id) {
        leftOut.add(id);
    }

    /** The nodes the invariants hold among: all but those {@link #leaveOut left out}. */
    List<KarafNode> checkedNodes() {
        return cluster.nodes().stream().filter(n -> !leftOut.contains(cluster.nodes().indexOf(n) + 1)).toList();
    }

    LocalCluster cluster() {
        return cluster;
    }

    List<KarafNode> nodes() {
        return cluster.nodes();
    }

    KarafNode node(int id) {
        return cluster.node(id);
    }

    int gateway(int id) {
        return cluster.node(id).gatewayPort();
    }

    int postgres(int id) {
        return cluster.node(id).postgresPort();
    }

    /** A pgjdbc connection to node {@code id}'s gateway. */
    Connection viaGateway(int id, String... properties) throws SQLException {
        return Sql.connect(gateway(id), properties);
    }

    /** A pgjdbc connection to node {@code id}'s own PostgreSQL (bypassing the gateway: to look, not to write). */
    Connection direct(int id) throws SQLException {
        return Sql.connect(postgres(id));
    }

    /** DESIGN §8 at the end of a class: no prepared transaction left, identical tables, generations never decreased. */
    Map<String, String> checkInvariants() {
        watchGenerations();
        try {
            List<KarafNode> checked = checkedNodes();
            Map<String, String> digests = ClusterInvariants.check(checked, generations);
            log(name, "invariants hold: %d replicated tables identical on %d nodes%s, generations %s", digests.size(),
                checked.size(), leftOut.isEmpty() ? "" : " (left out, disabled: " + leftOut + ")", generations.highest());
            return digests;
        } catch (RuntimeException | Error e) {
            log(name, "invariants failed:\n%s", cluster.logTails(60));
            throw e;
        }
    }

    /** {@link #checkInvariants()}, then stop everything whatever the outcome. */
    void checkInvariantsAndClose() {
        try {
            checkInvariants();
        } finally {
            close();
        }
    }

    @Override
    public void close() {
        if (generations != null) {
            generations.close();
        }
        cluster.close();
    }

    static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    static void log(String who, String format, Object... args) {
        System.out.println("[" + who + "] " + String.format(format, args));
    }
}
