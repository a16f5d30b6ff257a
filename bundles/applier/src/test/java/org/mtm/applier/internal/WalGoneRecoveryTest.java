package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.ClusterConfig;
import org.mtm.api.NodeSet;
import org.mtm.api.ReplicationPlan;
import org.mtm.testing.Await;

/**
 * The WAL node 3 needs is gone at both donors, on real PostgreSQL 15 servers: node 1 invalidated its slot
 * (max_slot_wal_keep_size exceeded: wal_status lost), node 2 dropped it. Each recovery receiver says so instead of
 * retrying, and the supervisor reports both donors in {@code recovery().walGone()} — what consensus's NodePlan turns
 * into "disabled for good" (NodePlanTest).
 */
public class WalGoneRecoveryTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(3);

    @Rule
    public final Timeout timeout = Timeout.seconds(180);

    private ReceiverSupervisor supervisor;

    @After
    public void stop() {
        if (supervisor != null) {
            supervisor.deactivate();
        }
    }

    @Test
    public void bothDonorsWithoutTheWalAreReportedAndNotRetried() throws Exception {
        NODES.exec(1, "ALTER SYSTEM SET max_slot_wal_keep_size = '16MB'", "SELECT pg_reload_conf()");
        Await.until(WAIT, "node 3's slot on node 1 lost", () -> {
            NODES.exec(1, "SELECT pg_switch_wal()", "CHECKPOINT");
            return "lost".equals(NODES.scalar(1, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'mtm_slot_3'"));
        });
        NODES.exec(2, "SELECT pg_drop_replication_slot('mtm_slot_3')");

        TestClusterState state = new TestClusterState(3);
        state.plan = ReplicationPlan.recovery(1, Long.MAX_VALUE);
        supervisor = new ReceiverSupervisor(NODES.node(3), (node, message) -> { }, new ApplierSettings(500, 1));
        supervisor.clusterState(state);
        supervisor.clusterConfigChanged(Optional.of(new ClusterConfig(3,
            List.of(NODES.clusterNode(1), NODES.clusterNode(2), NODES.clusterNode(3)))));
        supervisor.followPlanEvery(50);
        Await.until(WAIT, "donor 1 reported without the WAL", () -> supervisor.recovery().walGone().contains(1));
        assertEquals(NodeSet.of(1), supervisor.recovery().walGone());

        state.plan = ReplicationPlan.recovery(2, Long.MAX_VALUE); // what NodePlan does next: another donor
        Await.until(WAIT, "donor 2 reported without the WAL", () -> supervisor.recovery().walGone().contains(2));
        assertEquals(NodeSet.of(1, 2), supervisor.recovery().walGone());
        assertEquals("the plan moved on: still known", NodeSet.of(1, 2), supervisor.recovery().walGone());
        state.plan = ReplicationPlan.NONE;
        Await.until(WAIT, "plan NONE followed", () -> supervisor.recovery().donor() == 0);
        assertTrue("kept while the node runs", supervisor.recovery().walGone().containsAll(NodeSet.of(1, 2)));
    }
}
