package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.KarafConsole;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;
import org.postgresql.util.PSQLException;

/**
 * Issue 11, {@code mtm.drop_node} (manual F.31.4.4) on four real nodes under writers on gateways 1 and 2: node 4 is
 * stopped and dropped through SQL on gateway 1, then node 3, running, is dropped through node 2's console. After each
 * drop the remaining nodes show the smaller configured set in {@code mtm.status()} and {@code mtm.nodes()} in a higher
 * generation, keep no replication slot for the dropped node, and go on committing; no write fails during a drop (issue
 * 15: a drop is a planned switch, the members' commits are drained first; the writes that failed when node 4 was
 * stopped, before its drop, are a fault's and not counted); every acknowledged write is on every remaining node and
 * no refused one anywhere
 * ({@link WriteLoad#stopAndCheck}); the running node that was dropped says disabled and refuses work, naming the drop.
 * The errors: an unknown id (SQL, console, JMX), the node itself, the last two nodes.
 */
public class MembershipIT {
    private static final String WHO = "MembershipIT";
    private static final Duration SWITCH = Duration.ofSeconds(60);
    private static TestCluster cluster;

    @BeforeClass
    public static void fourNodes() throws SQLException {
        cluster = TestCluster.initialisedWith("membership", 4, node -> { });
        Sql.execute(cluster.gateway(1), "CREATE TABLE written (id bigint PRIMARY KEY, writer int NOT NULL)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE written_nopk (id bigint NOT NULL, writer int NOT NULL)");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.leaveOut(3);
            cluster.leaveOut(4);
            cluster.checkInvariantsAndClose();
        }
    }

    @Test
    public void dropsAStoppedNodeThenARunningOneUnderWritersAndLosesNothing() throws Exception {
        refusals();

        // 1. node 4 stopped, dropped through SQL on gateway 1
        WriteLoad load = WriteLoad.start(cluster, WHO, 1, 1, 2);
        try {
            load.awaitProgress(20, Duration.ofSeconds(90), "before node 4 stops");
            long full = generation(1);
            cluster.node(4).stop(Duration.ofSeconds(60));
            for (int id = 1; id <= 3; id++) {
                awaitStatus(id, "{1,2,3}", "{1,2,3,4}", full);
            }
            load.awaitProgress(20, Duration.ofSeconds(60), "with node 4 stopped");
            long before = generation(1);
            int failedBefore = load.failed().size();
            long t = System.nanoTime();
            Sql.execute(cluster.gateway(1), "SELECT mtm.drop_node(4)");
            TestCluster.log(WHO, "mtm.drop_node(4) returned after %d ms", TestCluster.millisSince(t));
            for (int id = 1; id <= 3; id++) {
                awaitStatus(id, "{1,2,3}", "{1,2,3}", before);
                awaitNodeIds(id, "1,2,3");
                awaitNoSlot(id, 4);
            }
            load.awaitProgress(20, Duration.ofSeconds(60), "after node 4 was dropped");
            assertNoneFailed(load.failed().subList(failedBefore, load.failed().size()), "dropping node 4");
        } finally {
            load.stop();
        }
        load.stopAndCheck(1, 2, 3);

        // 2. node 3 running, dropped through node 2's console
        load = WriteLoad.start(cluster, WHO, 2, 1, 2);
        try {
            load.awaitProgress(20, Duration.ofSeconds(90), "before node 3 is dropped");
            long before = generation(1);
            int failedBefore = load.failed().size();
            long t = System.nanoTime();
            String out = cluster.node(2).execute("mtm:drop-node 3");
            TestCluster.log(WHO, "mtm:drop-node 3 on node 2 after %d ms: %s", TestCluster.millisSince(t), out.trim());
            assertTrue(out, out.contains("node 3 dropped"));
            for (int id = 1; id <= 2; id++) {
                awaitStatus(id, "{1,2}", "{1,2}", before);
                awaitNodeIds(id, "1,2");
                awaitNoSlot(id, 3);
            }
            load.awaitProgress(20, Duration.ofSeconds(60), "after node 3 was dropped");
            assertNoneFailed(load.failed().subList(failedBefore, load.failed().size()), "dropping node 3");
            droppedNodeRefusesWork(3);
            // the last two nodes stay: a 2-node cluster needs both (or a referee)
            assertRefused(1, "SELECT mtm.drop_node(2)", "55000", "would leave 1 configured node(s)");
        } finally {
            load.stop();
        }
        load.stopAndCheck(1, 2);
    }

    /** The refusals on the full cluster, through every surface; nothing changes. */
    private static void refusals() throws Exception {
        long before = generation(1);
        assertRefused(1, "SELECT mtm.drop_node(7)", "42704", "node 7 is not configured");
        assertRefused(1, "SELECT mtm.drop_node(1)", "55000", "node 1 cannot drop itself");
        KarafConsole.Result console = cluster.node(1).tryExecute("mtm:drop-node 9");
        assertFalse(console.output(), console.ok());
        assertTrue(console.output(), console.output().contains("42704") && console.output().contains("node 9 is not configured"));
        try {
            cluster.node(1).invokeNodeMBean("dropNode", new Object[] {9}, new String[] {"int"});
            fail("the MBean dropped node 9");
        } catch (Exception e) {
            String text = String.valueOf(e.getMessage()) + " " + String.valueOf(e.getCause());
            assertTrue(text, text.contains("42704") && text.contains("node 9 is not configured"));
        }
        assertEquals("no generation switch for a refused drop", before, generation(1));
        assertEquals("1,2,3,4", nodeIds(1));
    }

    private static void assertRefused(int gateway, String sql, String sqlState, String text) throws SQLException {
        MembershipChecks.assertRefused(cluster, WHO, gateway, sql, sqlState, text);
    }

    /** Writes that failed while a drop switched the generation: none (the members drained their commits first). */
    private static void assertNoneFailed(List<WriteLoad.Write> failed, String when) {
        TestCluster.log(WHO, "%d write(s) failed while %s: %s", failed.size(), when,
            failed.stream().map(w -> w.sqlState() + " " + w.message()).toList());
        assertEquals("writes through gateways 1 and 2 that failed while " + when, List.of(), failed);
    }

    /** The dropped node, still running, learned it: disabled with the reason, and its gateway refuses work. */
    private static void droppedNodeRefusesWork(int id) throws SQLException {
        Poll.until("node " + id + " disabled because it was dropped", SWITCH, Duration.ofMillis(250), () -> {
            try (Connection c = cluster.direct(id)) {
                String because = Sql.scalar(c, "SELECT disabled_because FROM mtm.generation_state");
                return "disabled".equals(Sql.scalar(c, "SELECT status FROM mtm.status()"))
                    && because != null && because.startsWith("node " + id + " was dropped from the cluster");
            } catch (SQLException | RuntimeException e) {
                return false;
            }
        });
        try (Connection c = cluster.viaGateway(id)) {
            Sql.scalar(c, "INSERT INTO written VALUES (-1, " + id + ") RETURNING id");
            fail("node " + id + " accepted a write after it was dropped");
        } catch (PSQLException e) {
            assertEquals("57P03", e.getSQLState());
            String hint = e.getServerErrorMessage() == null ? "" : String.valueOf(e.getServerErrorMessage().getHint());
            TestCluster.log(WHO, "a write through the dropped node %d: %s %s / %s", id, e.getSQLState(), e.getMessage(), hint);
            assertTrue(hint, hint.contains("was dropped from the cluster") && hint.contains("mtm.add_node"));
        }
    }

    /** Node {@code id} online with {@code members} of {@code configured} in a generation above {@code above}. */
    private static void awaitStatus(int id, String members, String configured, long above) {
        MembershipChecks.awaitOnline(cluster, id, members, configured, above, SWITCH);
    }

    /** mtm.nodes() is refreshed every 0.5 s: it follows mtm.status() within a refresh. */
    private static void awaitNodeIds(int id, String ids) {
        Poll.until("mtm.nodes() on node " + id + " lists " + ids, Duration.ofSeconds(5), Duration.ofMillis(100),
            () -> ids.equals(nodeIds(id)));
    }

    private static String nodeIds(int id) throws SQLException {
        return Sql.scalar(cluster.postgres(id), "SELECT string_agg(id::text, ',' ORDER BY id) FROM mtm.nodes()");
    }

    private static void awaitNoSlot(int id, int dropped) {
        Poll.until("no replication slot for node " + dropped + " on node " + id, SWITCH, Duration.ofMillis(250),
            () -> "0".equals(Sql.scalar(cluster.postgres(id),
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'mtm_slot_" + dropped + "'")));
    }

    private static long generation(int id) throws SQLException {
        return Long.parseLong(Sql.scalar(cluster.postgres(id), "SELECT gen_num FROM mtm.status()"));
    }
}
