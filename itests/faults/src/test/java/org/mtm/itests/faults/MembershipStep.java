package org.mtm.itests.faults;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.mtm.itests.harness.BankLoad;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.NodeSets;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;
import org.mtm.itests.harness.Violation;

/**
 * The battery's membership change (issue 11 point 5): while the bank workload runs on every gateway, a node is added
 * the manual's way (F.31.4.3: {@code mtm.add_node} through one gateway, a base backup of a live node, {@code
 * mtm.join_node} with the backup's end LSN through another), takes the workload on its own gateway too, and is dropped
 * again ({@code mtm.drop_node}, F.31.4.4) once its clients have stopped. Its attempts stay with the load's, so the
 * battery's checks hold every write through the added node to the same rules on the remaining nodes; the added node's
 * own copy, read after the drop, must be a consistent prefix of theirs (the bank's total, no transfer the others lack).
 */
final class MembershipStep {
    /** add_node, the base backup, join_node and the catch-up under load; and the drop. */
    static final Duration JOIN = Duration.ofSeconds(300);
    static final Duration DROP = Duration.ofSeconds(90);
    /** A dropped node's slot goes once its walsender has ended (the node may still be streaming at the drop). */
    static final Duration SLOT_GONE = Duration.ofSeconds(60);
    private static final int WRITERS = 2;

    private final LocalCluster cluster;
    private final BankLoad load;
    private final int nodes;
    private final FaultTimeline timeline;
    private final List<Violation> violations = new ArrayList<>();

    MembershipStep(LocalCluster cluster, BankLoad load, int nodes, FaultTimeline timeline) {
        this.cluster = cluster;
        this.load = load;
        this.nodes = nodes;
        this.timeline = timeline;
    }

    /** Adds node {@code nodes + 1} and drops it; what went wrong, as violations of the run. */
    List<Violation> run(long heartbeatRecvTimeoutMs) {
        int id = nodes + 1;
        String label = "add and drop node " + id;
        long from = load.millisSinceStart();
        try {
            KarafNode added = add(id, heartbeatRecvTimeoutMs, label);
            long online = load.millisSinceStart();
            load.startGateway(id, WRITERS);
            if (!load.awaitProgress(FaultBattery.PROGRESS, FaultBattery.PROGRESS_BOUND)) {
                violations.add(new Violation("no progress", label, "fewer than " + FaultBattery.PROGRESS
                    + " writes acknowledged with node " + id + " online"));
            }
            load.stopGateway(id);
            drop(id, added, label);
            timeline.add(label, Set.of(id), from, load.millisSinceStart());
            FaultBattery.log("%s: online %d ms after add_node, dropped %d ms later", label, online - from,
                load.millisSinceStart() - online);
        } catch (AssertionError | RuntimeException | SQLException e) {
            violations.add(new Violation("membership change failed", label, String.valueOf(e.getMessage())));
            FaultBattery.log("%s failed: %s\n%s", label, e, cluster.logTails(40));
        }
        return violations;
    }

    /** The manual's procedure, each call through another gateway than the last, the writers going on meanwhile. */
    private KarafNode add(int id, long heartbeatRecvTimeoutMs, String label) throws SQLException {
        KarafNode added = cluster.addNode(node -> node.configure("org.mtm.multimaster.cfg", "heartbeat_recv_timeout",
            Long.toString(heartbeatRecvTimeoutMs)));
        String given = Sql.scalar(cluster.node(2).gatewayPort(), "SELECT mtm.add_node('" + added.conninfo() + "')");
        if (!Integer.toString(id).equals(given)) {
            throw new AssertionError("mtm.add_node gave id " + given + ", not " + id);
        }
        FaultBattery.log("%s: mtm.add_node through gateway 2 gave id %s", label, given);
        added.configure("org.mtm.node.cfg", "database.base_backup_from", cluster.node(1).conninfo());
        cluster.startAdded(added);
        String lsn = Sql.scalar(added.postgresPort(), "SELECT backup_end_lsn::text FROM mtm.join_pending");
        FaultBattery.log("%s: made from a base backup of node 1 ending at %s", label, lsn);
        Sql.execute(cluster.node(3 <= nodes ? 3 : 1).gatewayPort(), "SELECT mtm.join_node(" + id + ", '" + lsn + "')");
        cluster.awaitAllOnline(JOIN);
        return added;
    }

    /** Drops the node through gateway 1; the others go on without it, keeping no slot for it. */
    private void drop(int id, KarafNode added, String label) throws SQLException {
        Sql.execute(cluster.node(1).gatewayPort(), "SELECT mtm.drop_node(" + id + ")");
        Set<Integer> remaining = IntStream.rangeClosed(1, nodes).boxed().collect(Collectors.toCollection(TreeSet::new));
        Poll.until("nodes " + remaining + " online in a generation of " + remaining + " without node " + id, DROP,
            Duration.ofMillis(250), () -> {
                for (int i : remaining) {
                    Map<String, String> row = LocalCluster.status(cluster.node(i));
                    if (!"online".equals(row.get("status")) || !remaining.equals(NodeSets.parse(row.get("gen_members")))
                        || !remaining.equals(NodeSets.parse(row.get("gen_configured")))) {
                        return false;
                    }
                }
                return true;
            });
        for (int i : remaining) {
            // each node drops it on its own once it adopted the drop and the slot is no longer in use (DroppedNodeSlots)
            int node = i;
            try {
                Poll.until("node " + i + " drops mtm_slot_" + id, SLOT_GONE, Duration.ofMillis(500), () -> "0".equals(
                    Sql.scalar(cluster.node(node).postgresPort(), "SELECT count(*) FROM pg_replication_slots"
                        + " WHERE slot_name = 'mtm_slot_" + id + "'")));
            } catch (AssertionError e) {
                violations.add(new Violation("slot kept", label, "node " + i + " keeps mtm_slot_" + id + " "
                    + SLOT_GONE.toSeconds() + " s after the drop: its WAL would be kept for ever"));
            }
        }
        consistentPrefix(id, added, label);
        added.stop(Duration.ofSeconds(60));
    }

    /**
     * The dropped node's own database, frozen at its drop: the bank's total, and every transfer it holds also on node
     * 1 (it never had a transaction the cluster lacks). Read once the load stopped writing through it.
     */
    private void consistentPrefix(int id, KarafNode added, String label) throws SQLException {
        String total = Sql.scalar(added.postgresPort(), "SELECT sum(balance) || '/' || count(*) FROM accounts");
        String expected = BankLoad.ACCOUNTS * BankLoad.INITIAL_BALANCE + "/" + BankLoad.ACCOUNTS;
        if (!expected.equals(total)) {
            violations.add(new Violation("dropped node inconsistent", label, "node " + id + "'s accounts sum/count "
                + total + ", not " + expected));
        }
        String ids = Sql.scalar(added.postgresPort(), "SELECT string_agg(id::text, ',' ORDER BY id) FROM transfers");
        if (ids == null) {
            violations.add(new Violation("dropped node inconsistent", label, "node " + id + " holds no transfer"));
            return;
        }
        String missing = Sql.scalar(cluster.node(1).postgresPort(), "SELECT count(*) FROM unnest('{" + ids
            + "}'::bigint[]) t(id) WHERE NOT EXISTS (SELECT 1 FROM transfers WHERE transfers.id = t.id)");
        if (!"0".equals(missing)) {
            violations.add(new Violation("dropped node inconsistent", label, missing + " transfer(s) on node " + id
                + " are not on node 1"));
        }
        FaultBattery.log("%s: node %d frozen at its drop holds %d transfers, total %s", label, id,
            ids.split(",").length, total);
    }
}
