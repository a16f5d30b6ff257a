package org.mtm.itests.faults;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.mtm.itests.harness.Attempt;
import org.mtm.itests.harness.BankCheck;
import org.mtm.itests.harness.BankLoad;
import org.mtm.itests.harness.ClusterInvariants.GenerationWatch;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.NodeFault;
import org.mtm.itests.harness.TransportLinks;
import org.mtm.itests.harness.Violation;

/**
 * One run of the fault battery (issue 7 point 6): a cluster whose every transport link goes through a proxy, the bank
 * workload on every gateway, the faults of a {@link FaultPlan} one at a time, each healed and the cluster back online
 * before the next; then, on every node's own database, the checks of {@link BankCheck}, plus what the clients saw
 * (a read with another total), generation numbers and whether each node came back within its bound.
 */
final class FaultBattery {
    /**
     * Above the machine's occasional multi-second stalls, below the 10 s freeze and link cut that must be noticed;
     * {@code battery.heartbeat_recv_timeout} (ms) sets another, e.g. the manual's default 2000 for availability
     * figures ({@code ./mtm battery --heartbeat-recv-timeout 2000}).
     */
    static final long HEARTBEAT_RECV_TIMEOUT_MS = Long.getLong("battery.heartbeat_recv_timeout", 5_000);
    /** How long a node stays frozen, and a link cut. */
    static final Duration HOLD = Duration.ofSeconds(10);
    /** Every node online in one generation at the start. After a fault, {@link BackOnline} judges by progress. */
    static final Duration BACK_ONLINE = Duration.ofSeconds(120);
    /** Writes acknowledged after each heal, before the next fault: the load is working again. */
    static final int PROGRESS = 20;
    static final Duration PROGRESS_BOUND = Duration.ofSeconds(60);
    /** Prepared transactions must be resolved within this once the cluster has healed. */
    static final Duration PREPARED_BOUND = Duration.ofSeconds(30);
    /** No write may wait longer for its outcome. */
    static final Duration WRITE_BOUND = Duration.ofSeconds(60);
    private static final int WRITERS_PER_GATEWAY = 2;
    /**
     * After the faults, a node added and dropped under the load ({@link MembershipStep}); {@code battery.membership=false}
     * leaves it out (the PostgreSQL 17 part: zonky's binaries have no {@code pg_basebackup} to make the node with).
     */
    static final boolean MEMBERSHIP = Boolean.parseBoolean(System.getProperty("battery.membership", "true"));

    private final FaultPlan plan;
    private final int nodes;
    private final FaultTimeline timeline = new FaultTimeline();
    private final List<Violation> violations = new ArrayList<>();
    private final List<Path> nodeHomes = new ArrayList<>();

    FaultBattery(FaultPlan plan, int nodes) {
        this.plan = plan;
        this.nodes = nodes;
    }

    /** Runs the plan and the checks; the cluster stays up for the report until {@code cluster} is closed. */
    BatteryReport run(String name) throws SQLException {
        log("seed %d: %d faults on %d nodes: %s", plan.seed(), plan.steps().size(), nodes, plan.steps());
        TransportLinks links = new TransportLinks(nodes);
        LocalCluster cluster = LocalCluster.boot(name, nodes, node -> {
            links.configure(node);
            node.configure("org.mtm.multimaster.cfg", "heartbeat_recv_timeout", Long.toString(HEARTBEAT_RECV_TIMEOUT_MS));
        });
        try (links; cluster) {
            cluster.nodes().forEach(node -> nodeHomes.add(node.home()));
            cluster.initThroughConsole(Duration.ofSeconds(90));
            cluster.awaitAllOnline(BACK_ONLINE);
            BankLoad.createTables(cluster);
            try (GenerationWatch generations = new GenerationWatch(cluster.nodes(), Duration.ofMillis(500));
                 BankLoad load = BankLoad.start(cluster, WRITERS_PER_GATEWAY, plan.seed())) {
                if (!load.awaitProgress(PROGRESS, PROGRESS_BOUND)) {
                    violations.add(new Violation("no progress", "warm-up", "fewer than " + PROGRESS + " writes acknowledged in "
                        + PROGRESS_BOUND.toSeconds() + " s on a healthy cluster"));
                }
                boolean healed = true;
                for (FaultPlan.Step step : plan.steps()) {
                    if (!inject(step, cluster, links, load)) {
                        healed = false;
                        break; // the cluster did not heal: further faults would tell nothing new
                    }
                }
                if (healed && MEMBERSHIP) {
                    violations.addAll(new MembershipStep(cluster, load, nodes, timeline).run(HEARTBEAT_RECV_TIMEOUT_MS));
                    cluster.nodes().stream().skip(nodes).forEach(node -> nodeHomes.add(node.home()));
                }
                load.stop();
                long runMillis = load.millisSinceStart();
                generations.sample();
                return check(cluster, load, generations, runMillis);
            } catch (RuntimeException | Error e) {
                log("run failed: %s\n%s", e, cluster.logTails(40));
                throw e;
            }
        }
    }

    /** One fault, its heal and the settle; false when the cluster did not come back. */
    private boolean inject(FaultPlan.Step step, LocalCluster cluster, TransportLinks links, BankLoad load) {
        NodeFault.Target target = new NodeFault.Target(cluster, links, step.node(), step.peer(), HOLD);
        String label = step.fault().describe(target) + " (fault #" + step.number() + ")";
        long from = load.millisSinceStart();
        boolean healed = true;
        try {
            step.fault().hit(target);
        } catch (AssertionError | RuntimeException e) {
            violations.add(new Violation("node did not heal", label, e.getMessage()));
            healed = restart(cluster, step.node(), label);
        }
        long hit = load.millisSinceStart();
        try {
            long beyond = BackOnline.await(cluster);
            if (beyond > 0) {
                log("%s: catch-up went on %d ms past %d s, closing in", label, beyond, BackOnline.FIRST.toSeconds());
            }
        } catch (AssertionError e) {
            violations.add(new Violation("not back online", label, e.getMessage()));
            healed = false;
        }
        long online = load.millisSinceStart();
        timeline.add(label, step.hit(), from, online);
        log("%s: healed after %d ms, every node online %d ms later", label, hit - from, online - hit);
        if (healed && !load.awaitProgress(PROGRESS, PROGRESS_BOUND)) {
            violations.add(new Violation("no progress", label, "fewer than " + PROGRESS + " writes acknowledged within "
                + PROGRESS_BOUND.toSeconds() + " s after every node was online again"));
        }
        return healed;
    }

    /** A node that did not heal by itself (e.g. its PostgreSQL not restarted) is stopped and started. */
    private static boolean restart(LocalCluster cluster, int node, String label) {
        try {
            log("%s: restarting node%d by hand", label, node);
            cluster.node(node).stop(Duration.ofSeconds(60));
            cluster.node(node).start().awaitReady(LocalCluster.BOOT);
            return true;
        } catch (AssertionError | RuntimeException e) {
            log("%s: node%d does not start again: %s", label, node, e);
            return false;
        }
    }

    private BatteryReport check(LocalCluster cluster, BankLoad load, GenerationWatch generations, long runMillis) {
        List<Attempt> attempts = load.attempts();
        for (String anomaly : load.anomalies()) {
            violations.add(new Violation("client saw an anomaly", "during the run", anomaly));
        }
        for (Attempt attempt : attempts) {
            if (attempt.millis() > WRITE_BOUND.toMillis()) {
                violations.add(new Violation("write waited too long", timeline.during(attempt),
                    attempt + " (bound " + WRITE_BOUND.toSeconds() + " s)"));
            }
        }
        try {
            generations.assertNeverDecreased();
        } catch (AssertionError e) {
            violations.add(Violation.afterTheRun("generation decreased", e.getMessage()));
        }
        // a node added and dropped by the membership step is not checked with the others: its copy ends at its drop
        violations.addAll(BankCheck.violations(cluster.nodes().subList(0, nodes), load, PREPARED_BOUND, timeline));
        Set<Integer> ids = IntStream.rangeClosed(1, nodes).boxed().collect(Collectors.toCollection(TreeSet::new));
        return new BatteryReport(plan, ids, timeline.windows(), attempts, load.reads(), runMillis, violations,
            generations.highest());
    }

    /** Each node's folder (its logs stay there once the cluster has stopped). */
    List<Path> nodeHomes() {
        return List.copyOf(nodeHomes);
    }

    static void log(String format, Object... args) {
        System.out.println("[fault-battery] " + String.format(format, args));
    }
}
