package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.PostgresVersions;
import org.mtm.itests.harness.Sql;
import org.postgresql.util.PSQLException;

/**
 * Issue 15 item 4, a rolling major upgrade step under writers on the other gateways: a 3-node cluster on PostgreSQL 15;
 * node 3 is dropped ({@code mtm.drop_node}) and stopped, and a node on 17 takes its place — added ({@code
 * mtm.add_node}), made by its managed PostgreSQL from a LOGICAL copy of node 1 ({@code database.logical_copy_from}:
 * pg_dump at the snapshot of node 1's slot for it; a base backup cannot cross majors), joined ({@code mtm.join_node})
 * from the slot's consistent point, caught up and online with nodes 1 and 2 — while writers on gateways 1 and 2 never
 * stop — and none of their writes fails (issue 15: clients of the other nodes see no errors). Every acknowledged write
 * of the load is on nodes 1, 2 and the new node, nothing twice
 * (the table without a primary key would show a write applied twice); then the new node takes writes too; at the end
 * the class's invariants among nodes 1, 2 and 4 (identical tables, nothing prepared, generations never decreased).
 */
public class UpgradeIT {
    private static final String WHO = "UpgradeIT";
    private static final Duration SWITCH = Duration.ofSeconds(60);
    private static final Duration JOIN = Duration.ofSeconds(300);
    private static TestCluster cluster;

    @BeforeClass
    public static void threeNodesOnFifteen() throws SQLException {
        cluster = TestCluster.initialisedWith("upgrade", 3, node -> { });
        Sql.execute(cluster.gateway(1), "CREATE TABLE written (id bigint PRIMARY KEY, writer int NOT NULL)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE written_nopk (id bigint NOT NULL, writer int NOT NULL)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE numbered (id bigserial PRIMARY KEY, node int NOT NULL)");
        Sql.execute(cluster.gateway(2), "INSERT INTO numbered (node) SELECT 2 FROM generate_series(1, 1000)");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    @Test
    public void nodeThreeIsReplacedByANodeOnSeventeenFromALogicalCopyUnderWriters() throws Exception {
        for (int id = 1; id <= 3; id++) {
            assertEquals("major of node " + id, "15", Sql.scalar(cluster.postgres(id),
                "SELECT current_setting('server_version_num')::int / 10000"));
        }
        WriteLoad load = WriteLoad.start(cluster, WHO, 1, 1, 2);
        WriteLoad after = null;
        try {
            load.awaitProgress(20, Duration.ofSeconds(90), "before node 3 leaves");

            // node 3 leaves: dropped through gateway 1, then stopped (its data stays on 15; it is not reused)
            long before = generation(1);
            long t = System.nanoTime();
            Sql.execute(cluster.gateway(1), "SELECT mtm.drop_node(3)");
            TestCluster.log(WHO, "mtm.drop_node(3) returned after %d ms", TestCluster.millisSince(t));
            cluster.leaveOut(3);
            for (int id = 1; id <= 2; id++) {
                awaitStatus(id, "{1,2}", "{1,2}", before, SWITCH);
            }
            cluster.node(3).stop(Duration.ofSeconds(60));
            load.awaitProgress(20, Duration.ofSeconds(60), "with node 3 gone");

            // its replacement on 17: added, made from a logical copy of node 1, joined
            KarafNode n4 = cluster.cluster().addNode(node -> {
                node.configure("org.mtm.node.cfg", "database.bindir", PostgresVersions.binDir(17).toString());
                node.configure("org.mtm.node.cfg", "database.logical_copy_from", cluster.node(1).conninfo());
            });
            before = generation(1);
            t = System.nanoTime();
            String id = Sql.scalar(cluster.gateway(2), "SELECT mtm.add_node('" + n4.conninfo() + "')");
            TestCluster.log(WHO, "mtm.add_node returned %s after %d ms", id, TestCluster.millisSince(t));
            assertEquals("4", id);
            load.awaitProgress(20, Duration.ofSeconds(60), "after the add");
            t = System.nanoTime();
            cluster.cluster().startAdded(n4);
            TestCluster.log(WHO, "node 4 on 17 made from a logical copy of node 1 and up after %d ms",
                TestCluster.millisSince(t));
            assertEquals("17", Sql.scalar(cluster.postgres(4), "SELECT current_setting('server_version_num')::int / 10000"));
            waitingNodeRefusesWork();
            String lsn = Sql.scalar(cluster.postgres(4), "SELECT backup_end_lsn::text FROM mtm.join_pending");
            assertEquals("the copy starts where node 1's slot for node 4 starts", lsn, Sql.scalar(cluster.postgres(1),
                "SELECT upper(confirmed_flush_lsn::text) FROM pg_replication_slots WHERE slot_name = 'mtm_slot_4'"));
            load.awaitProgress(20, Duration.ofSeconds(60), "while node 4 waits to join");

            t = System.nanoTime();
            Sql.execute(cluster.gateway(1), "SELECT mtm.join_node(4, '" + lsn + "')");
            TestCluster.log(WHO, "mtm.join_node(4, '%s') returned after %d ms", lsn, TestCluster.millisSince(t));
            for (int n : new int[] {1, 2, 4}) {
                awaitStatus(n, "{1,2,4}", "{1,2,4}", before, JOIN);
            }
            TestCluster.log(WHO, "node 4 (PostgreSQL 17) online with nodes 1 and 2 %d ms after join_node",
                TestCluster.millisSince(t));
            load.awaitProgress(20, Duration.ofSeconds(60), "with node 4 online");
            after = WriteLoad.start(cluster, WHO, 2, 4, 1);
            after.awaitProgress(20, Duration.ofSeconds(90), "through node 4's gateway");
        } finally {
            load.stop();
            if (after != null) {
                after.stop();
            }
        }
        List<WriteLoad.Write> all = load.stopAndCheck(1, 2, 4);
        List<WriteLoad.Write> failed = all.stream().filter(w -> !w.acknowledged()).toList();
        TestCluster.log(WHO, "load on gateways 1 and 2 throughout: %d attempts, %d acknowledged, failures %s; longest %d ms",
            all.size(), load.acknowledged(), failed.stream().map(w -> w.sqlState()).toList(),
            all.stream().mapToLong(WriteLoad.Write::millis).max().orElse(0));
        // issue 15: the three switches (drop, add, join) are planned: the members drain their commits first and a
        // commit arriving during a switch waits for it, so the clients of the nodes that stay see no error at all
        assertEquals("writes through gateways 1 and 2 that failed during the upgrade of node 3", List.of(), failed);
        if (after != null) {
            after.stopAndCheck(1, 2, 4);
        }
        for (int n : new int[] {1, 2, 4}) {
            assertEquals("rows of numbered on node " + n, "1000", Sql.scalar(cluster.postgres(n),
                "SELECT count(*) FROM numbered"));
        }
    }

    /** Before mtm.join_node the copy of node 1 is nobody: its gateway refuses work, naming what to do. */
    private static void waitingNodeRefusesWork() throws SQLException {
        try (Connection c = cluster.viaGateway(4)) {
            Sql.scalar(c, "INSERT INTO written VALUES (-4, 4) RETURNING id");
            fail("node 4 accepted a write before it joined");
        } catch (PSQLException e) {
            assertEquals("57P03", e.getSQLState());
            String hint = e.getServerErrorMessage() == null ? "" : String.valueOf(e.getServerErrorMessage().getHint());
            assertTrue(hint, hint.contains("mtm.join_node"));
        }
    }

    /** Node {@code id} online with {@code members} of {@code configured} in a generation above {@code above}. */
    private static void awaitStatus(int id, String members, String configured, long above, Duration timeout) {
        MembershipChecks.awaitOnline(cluster, id, members, configured, above, timeout);
    }

    private static long generation(int id) throws SQLException {
        return Long.parseLong(Sql.scalar(cluster.postgres(id), "SELECT gen_num FROM mtm.status()"));
    }
}
