package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.Sql;
import org.postgresql.util.PSQLException;

/**
 * Issue 11, {@code mtm.add_node} / {@code mtm.join_node} (manual F.31.4.3) under writers on every gateway: a fourth
 * node is added through gateway 2 while nodes 1–3 take writes — none of which fails (issue 15) —, made from a base backup of node 1 by its managed
 * PostgreSQL ({@code database.base_backup_from}), refuses work until it joins, is joined through gateway 3 with the
 * backup's end LSN, catches up and goes online in a generation of all four; then it takes writes too. Every
 * acknowledged write of both loads is on all four nodes, no refused one anywhere, nothing twice; the sequences take
 * the stride of four (node 4 hands out its own residue); at the end the class's invariants (identical tables, nothing
 * prepared, generations never decreased). The errors: unknown id, a member, a wrong LSN, joining twice, a conninfo
 * that reaches no PostgreSQL (08001).
 */
public class AddNodeIT {
    private static final String WHO = "AddNodeIT";
    private static final Duration SWITCH = Duration.ofSeconds(60);
    private static final Duration JOIN = Duration.ofSeconds(300);
    private static TestCluster cluster;

    @BeforeClass
    public static void threeNodes() throws SQLException {
        cluster = TestCluster.initialisedWith("add-node", 3, node -> { });
        Sql.execute(cluster.gateway(1), "CREATE TABLE written (id bigint PRIMARY KEY, writer int NOT NULL)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE written_nopk (id bigint NOT NULL, writer int NOT NULL)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE numbered (id bigserial PRIMARY KEY, node int NOT NULL)");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    @Test
    public void addsAFourthNodeUnderWritersOnEveryGatewayAndLosesNothing() throws Exception {
        assertRefused(1, "SELECT mtm.join_node(7, '0/0')", "42704", "node 7 is not configured");
        assertRefused(1, "SELECT mtm.join_node(2, '0/0')", "55000", "node 2 has already joined");
        assertRefused(1, "SELECT mtm.add_node('host=127.0.0.1 port=" + cluster.node(2).postgresPort()
            + " dbname=mydb user=mtmuser')", "42710", "is node 2's already");
        long before = generation(1);

        WriteLoad load = WriteLoad.start(cluster, WHO, 1, 1, 2, 3);
        WriteLoad fourth = null;
        DdlLoad ddl = null;
        List<String> seen = new ArrayList<>();
        try {
            load.awaitProgress(20, Duration.ofSeconds(90), "before the add");
            KarafNode n4 = cluster.cluster().addNode(node -> { });
            long t = System.nanoTime();
            String id = Sql.scalar(cluster.gateway(2), "SELECT mtm.add_node('" + n4.conninfo() + "')");
            TestCluster.log(WHO, "mtm.add_node returned %s after %d ms", id, TestCluster.millisSince(t));
            assertEquals("4", id);
            for (int i = 1; i <= 3; i++) {
                awaitStatus(i, "{1,2,3}", "{1,2,3,4}", before);
                assertEquals("node " + i + " keeps a slot for node 4", "1", Sql.scalar(cluster.postgres(i),
                    "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'mtm_slot_4'"));
            }
            load.awaitProgress(20, Duration.ofSeconds(60), "after the add");
            // its PostgreSQL does not exist yet: join_node names the node and what to check
            assertRefused(3, "SELECT mtm.join_node(4, '0/1')", "08001", "cannot connect to node 4");

            // the manual's steps 3-5: a base backup of node 1, recovered to its end, started (here by the node itself)
            n4.configure("org.mtm.node.cfg", "database.base_backup_from", cluster.node(1).conninfo());
            t = System.nanoTime();
            cluster.cluster().startAdded(n4);
            TestCluster.log(WHO, "node 4 made from a base backup of node 1 and up after %d ms", TestCluster.millisSince(t));
            waitingNodeRefusesWork();
            String lsn = Sql.scalar(cluster.postgres(4), "SELECT backup_end_lsn::text FROM mtm.join_pending");
            assertRefused(3, "SELECT mtm.join_node(4, '0/1')", "22023", "ends at " + lsn + ", not 0/1");
            load.awaitProgress(20, Duration.ofSeconds(60), "while node 4 waits to join");
            // DDL and rows in the tables it makes, through gateways 1 and 2, until node 4 is online: node 4's catch-up
            // applies them while it makes its own slots, which must decode them (the sharp edge "DDL while a node joins")
            ddl = new DdlLoad();
            ddl.start();
            List<String> sourcesCopies = outlastTheResolversPatience();

            AtomicBoolean watching = new AtomicBoolean(true);
            ConcurrentLinkedQueue<String> statuses = new ConcurrentLinkedQueue<>();
            Thread watcher = new Thread(() -> watchStatus(watching, statuses), "watch-node4");
            watcher.start();
            t = System.nanoTime();
            Sql.execute(cluster.gateway(3), "SELECT mtm.join_node(4, '" + lsn + "')");
            TestCluster.log(WHO, "mtm.join_node(4, '%s') returned after %d ms", lsn, TestCluster.millisSince(t));
            assertRefused(1, "SELECT mtm.join_node(4, '" + lsn + "')", "55000", "has already joined");
            for (String gid : sourcesCopies) {
                assertEquals("node 1's own " + gid + ", prepared in the backup, is logged on node 4 as an applied copy", "1",
                    Sql.scalar(cluster.postgres(4), "SELECT count(*) FROM mtm.applied_xacts WHERE origin = 1 AND gid = '" + gid + "'"));
            }
            // every origin node 4 will apply under exists before its catch-up and its own slots (an origin created
            // while a slot is being built is not named to the peers): mtm_node_1_16 and mtm_node_2_16 no catch-up uses
            assertEquals("origins made by join_node", "3", Sql.scalar(cluster.postgres(4), "SELECT count(*) FROM"
                + " pg_replication_origin WHERE roname IN ('mtm_node_1_16', 'mtm_node_2_16', 'mtm_resolver')"));
            for (int i = 1; i <= 4; i++) {
                awaitStatus(i, "{1,2,3,4}", "{1,2,3,4}", before, JOIN);
            }
            TestCluster.log(WHO, "node 4 online in all four %d ms after join_node", TestCluster.millisSince(t));
            ddl.stopAndLog();
            watching.set(false);
            watcher.join();
            for (String s : statuses) {
                if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(s)) {
                    seen.add(s);
                }
            }
            TestCluster.log(WHO, "node 4's statuses after join_node (sampled every 100 ms): %s", seen);
            assertTrue("node 4 was never online before it caught up: " + seen, !seen.contains("online")
                || seen.indexOf("online") > Math.max(seen.indexOf("catchup"), seen.indexOf("recovery")));

            fourth = WriteLoad.start(cluster, WHO, 2, 4, 1);
            fourth.awaitProgress(20, Duration.ofSeconds(90), "with node 4 online");
            load.awaitProgress(20, Duration.ofSeconds(60), "with node 4 online");
        } finally {
            load.stop();
            if (fourth != null) {
                fourth.stop();
            }
            if (ddl != null) {
                ddl.stopAndLog();
            }
        }
        List<WriteLoad.Write> all = load.stopAndCheck(1, 2, 3, 4);
        List<WriteLoad.Write> failed = all.stream().filter(w -> !w.acknowledged()).toList();
        TestCluster.log(WHO, "first load: %d attempts, failures %s; longest %d ms", all.size(),
            failed.stream().map(w -> w.sqlState()).toList(), all.stream().mapToLong(WriteLoad.Write::millis).max().orElse(0));
        // issue 15: the add and the join are planned switches: the members drain their commits first, and a commit
        // arriving during a switch waits for it; no client of nodes 1-3 sees an error
        assertEquals("writes through gateways 1-3 that failed during the add and the join", List.of(), failed);
        if (fourth != null) {
            fourth.stopAndCheck(1, 2, 3, 4);
        }
        sequencesTakeTheStrideOfFour();
        node4sWritesToTheTablesMadeDuringItsJoinReachEveryNode(ddl.created());
    }

    /**
     * Node 4 writes into every table made while it joined; nodes 1-3 receive those rows from node 4's own slots, which
     * it made while its catch-up applied that DDL: a slot that missed a catalog change stops at the first such row
     * ({@code could not map filenode}) and its peer never receives node 4's writes again.
     */
    private static void node4sWritesToTheTablesMadeDuringItsJoinReachEveryNode(List<String> tables) throws Exception {
        assertTrue("DDL ran while node 4 joined", !tables.isEmpty());
        for (String table : tables) {
            Sql.execute(cluster.gateway(4), "INSERT INTO " + table + " VALUES (-4, 4)");
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        for (String table : tables) {
            String expected = Sql.scalar(cluster.postgres(4), "SELECT count(*) FROM " + table);
            for (int i = 1; i <= 3; i++) {
                while (!expected.equals(Sql.scalar(cluster.postgres(i), "SELECT count(*) FROM " + table))) {
                    assertTrue("node " + i + " did not receive node 4's rows of " + table + " (" + expected + ")",
                        System.nanoTime() < deadline);
                    Thread.sleep(100); // a poll with a deadline (see the loop's condition)
                }
            }
        }
        TestCluster.log(WHO, "node 4's rows in the %d tables made during its join are on nodes 1-3", tables.size());
    }

    /**
     * CREATE TABLE and rows in it through gateways 1 and 2 in turn, every 250 ms. A statement may fail at a switch (it
     * is not the write load whose errors are counted); only tables whose CREATE TABLE succeeded are written and checked.
     */
    private static final class DdlLoad extends Thread {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<String> created = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        private int rows;

        DdlLoad() {
            super("ddl-during-join");
        }

        @Override
        public void run() {
            for (int k = 1; running.get(); k++) {
                int gateway = 1 + k % 2;
                String table = "made_during_join_" + k;
                try {
                    Sql.execute(cluster.gateway(gateway), "CREATE TABLE " + table + " (id int PRIMARY KEY, writer int NOT NULL)");
                    created.add(table);
                    Sql.execute(cluster.gateway(gateway), "INSERT INTO " + table + " SELECT g, " + gateway
                        + " FROM generate_series(1, 10) g");
                    rows += 10;
                    if (created.size() > 1) {
                        Sql.execute(cluster.gateway(3 - gateway), "INSERT INTO " + created.get(created.size() - 2)
                            + " VALUES (" + (100 + k) + ", " + (3 - gateway) + ")");
                        rows++;
                    }
                } catch (SQLException e) {
                    failures.add(e.getSQLState() + " " + e.getMessage());
                }
                try {
                    Thread.sleep(250); // the writers' pace during the join, until stopped
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        List<String> created() {
            return List.copyOf(created);
        }

        void stopAndLog() throws InterruptedException {
            if (running.getAndSet(false)) {
                join();
                TestCluster.log(WHO, "DDL during the join: %d tables made, %d rows written in them, %d statements failed %s",
                    created.size(), rows, failures.size(), failures);
            }
        }
    }

    /**
     * The base backup copied node 1's transactions that were prepared at that moment; they stay prepared on node 4
     * until its catch-up finishes them. A slow backup (the long battery's took 12 s) makes them older than the
     * resolver's patience by the time node 4 joins, so its resolver takes them up at once, racing the catch-up: the
     * join must still lose nothing and send nothing back (issue 11's battery bug, seed 46561057177705).
     */
    private static List<String> outlastTheResolversPatience() throws Exception {
        String copies = Sql.scalar(cluster.postgres(4), "SELECT count(*) || ' prepared, the oldest '"
            + " || coalesce(extract(epoch FROM now() - min(prepared))::int, 0) || ' s old' FROM pg_prepared_xacts");
        String own = Sql.scalar(cluster.postgres(4), "SELECT string_agg(gid, ',') FROM pg_prepared_xacts WHERE gid LIKE 'MTM-1-%'");
        TestCluster.log(WHO, "node 4's base backup holds %s (node 1's own: %s); waiting past the resolver's patience (10 s)",
            copies, own);
        Thread.sleep(15_000); // the condition is the passing of time itself: the copies' age
        return own == null ? List.of() : List.of(own.split(","));
    }

    /** Before mtm.join_node the copy of node 1 is nobody: its gateway refuses work, naming what to do. */
    private static void waitingNodeRefusesWork() throws SQLException {
        try (Connection c = cluster.viaGateway(4)) {
            Sql.scalar(c, "INSERT INTO written VALUES (-4, 4) RETURNING id");
            fail("node 4 accepted a write before it joined");
        } catch (PSQLException e) {
            assertEquals("57P03", e.getSQLState());
            String hint = e.getServerErrorMessage() == null ? "" : String.valueOf(e.getServerErrorMessage().getHint());
            TestCluster.log(WHO, "a write through node 4 before it joined: %s %s / %s", e.getSQLState(), e.getMessage(), hint);
            assertTrue(hint, hint.contains("base backup of node 1") && hint.contains("mtm.join_node"));
        }
    }

    /** Every node strides by 4 now; node i hands out values of residue i (mod 4); all unique. */
    private static void sequencesTakeTheStrideOfFour() throws SQLException {
        for (int i = 1; i <= 4; i++) {
            assertEquals("node " + i + ": numbered_id_seq strides by 4", "4", Sql.scalar(cluster.postgres(i),
                "SELECT increment_by FROM pg_sequences WHERE sequencename = 'numbered_id_seq'"));
        }
        Set<Long> ids = new HashSet<>();
        for (int round = 0; round < 3; round++) {
            for (int i = 1; i <= 4; i++) {
                long id = Long.parseLong(Sql.scalar(cluster.gateway(i), "INSERT INTO numbered (node) VALUES (" + i
                    + ") RETURNING id"));
                assertEquals("node " + i + " handed out " + id, i % 4, id % 4);
                assertTrue("id " + id + " handed out twice", ids.add(id));
            }
        }
        TestCluster.log(WHO, "ids handed out by nodes 1-4: %s", ids);
    }

    private static void watchStatus(AtomicBoolean watching, ConcurrentLinkedQueue<String> statuses) {
        while (watching.get()) {
            try (Connection c = cluster.direct(4)) {
                statuses.add(Sql.scalar(c, "SELECT status FROM mtm.status()"));
            } catch (SQLException | RuntimeException e) {
                // not published yet
            }
            try {
                Thread.sleep(100); // the status watch's sampling interval, until stopped
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static void assertRefused(int gateway, String sql, String sqlState, String text) throws SQLException {
        MembershipChecks.assertRefused(cluster, WHO, gateway, sql, sqlState, text);
    }

    private static void awaitStatus(int id, String members, String configured, long above) {
        awaitStatus(id, members, configured, above, SWITCH);
    }

    /** Node {@code id} online with {@code members} of {@code configured} in a generation above {@code above}. */
    private static void awaitStatus(int id, String members, String configured, long above, Duration timeout) {
        MembershipChecks.awaitOnline(cluster, id, members, configured, above, timeout);
    }

    private static long generation(int id) throws SQLException {
        return Long.parseLong(Sql.scalar(cluster.postgres(id), "SELECT gen_num FROM mtm.status()"));
    }
}
