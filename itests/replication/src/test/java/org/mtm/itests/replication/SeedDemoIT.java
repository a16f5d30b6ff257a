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

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.NodeSets;
import org.mtm.itests.harness.PgTools;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;

/**
 * Seed 000's demo, step by step, with psql on the gateways of three fresh (not initialised) nodes:
 * {@code CREATE EXTENSION multimaster}, {@code SELECT mtm.init_cluster(...)} on node 1, everybody online in
 * generation 1 with {1,2,3} connected, {@code mtm.nodes()} as the demo prints it, then
 * {@code CREATE TABLE multimaster_tbl} + {@code INSERT} on node 1 and the rows on node 2 the moment the INSERT
 * returned — no polling: that is the synchronous promise; then "Отказ узла" (node 3 down, the others write on in a
 * new generation) and "Восстановление узла" (node 3 back, caught up, online in a newer generation). The methods
 * are the demo's steps, in order, with the demo's generation numbers: 2 after the failure, 3 after the recovery
 * (one election each: the survivors' campaigns are staggered by rank, so they no longer collide). Then "Режим 2+1"
 * (issue 11 item 4): {@code mtm.drop_node(3)}, node 3 stopped and a referee started in its place, the two data nodes
 * stopped, given {@code referee_connstring} and started again (node 2 first, as the demo does): online in a generation
 * {1,2} of {1,2}, the six rows there, three more written; and the exercise: node 2 fails (kill -9), node 1 carries on alone with
 * the referee's grant (configured {1,2}, members {1}), node 2 returns, recovers and both are online in {1,2} again.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class SeedDemoIT {
    private static final String WHO = "SeedDemoIT";
    private static final Duration PSQL = Duration.ofSeconds(60);
    private static final List<String> STATUS_COLUMNS = List.of("my_node_id", "status", "connected", "gen_num", "gen_members",
        "gen_members_online", "gen_configured");
    private static final List<String> NODES_COLUMNS = List.of("id", "conninfo", "is_self", "enabled", "connected", "sender_pid",
        "receiver_pid", "n_workers", "receiver_mode");
    private static final Set<Integer> ALL = NodeSets.of(1, 2, 3);

    private static TestCluster cluster;
    private static long failedGeneration;
    private static TestReferee referee;

    @BeforeClass
    public static void freshNodes() {
        cluster = TestCluster.fresh("seed-demo");
    }

    @AfterClass
    public static void invariants() {
        try {
            if (cluster != null) {
                cluster.checkInvariantsAndClose();
            }
        } finally {
            if (referee != null) {
                referee.close();
            }
        }
    }

    @Test
    public void step01_createExtensionAndInitClusterThroughGateway1() {
        PgTools.Result extension = psql(1, "CREATE EXTENSION multimaster;\n");
        assertTrue("CREATE EXTENSION through gateway 1: " + extension, extension.ok() && extension.stdout().contains("CREATE EXTENSION"));

        String call = "SELECT mtm.init_cluster('" + cluster.node(1).conninfo() + "',\n    '{\"" + cluster.node(2).conninfo()
            + "\", \"" + cluster.node(3).conninfo() + "\"}');\n";
        long start = System.nanoTime();
        List<String> failures = new ArrayList<>();
        // a fresh node may not have advertised its transport a moment after boot: the call fails cleanly, then works
        PgTools.Result init = Poll.until("mtm.init_cluster through gateway 1", Duration.ofSeconds(90), Duration.ofSeconds(2), () -> {
            PgTools.Result r = psql(1, call);
            if (!r.ok()) {
                failures.add(r.stderr().trim());
            }
            return r;
        }, PgTools.Result::ok);
        TestCluster.log(WHO, "init_cluster answered in %d ms after %d failed attempt(s)%s:\n%s", TestCluster.millisSince(start),
            failures.size(), failures.isEmpty() ? "" : " " + failures, init.stdout());
        // psql prints a void function's result as the demo shows: the column, a rule, one empty row
        assertTrue("init_cluster output as in the demo: " + init, init.stdout().contains("init_cluster")
            && init.stdout().contains("(1 row)"));
        cluster.watchGenerations();
    }

    @Test
    public void step02_everyNodeOnlineInGeneration1WithAllConnected() {
        long start = System.nanoTime();
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int me = id;
            String out = Poll.until("node" + me + " online in generation 1 with {1,2,3} connected (mtm.status() through its gateway)",
                TestCluster.ONLINE, Duration.ofMillis(500), () -> psqlCsv(me, "SELECT * FROM mtm.status()"), text -> {
                    List<Map<String, String>> rows = PgTools.csv(text);
                    return rows.size() == 1 && "online".equals(rows.get(0).get("status"))
                        && ALL.equals(NodeSets.parse(rows.get(0).get("connected")));
                });
            assertEquals("mtm.status() columns on node" + me, STATUS_COLUMNS, PgTools.csvColumns(out));
            Map<String, String> row = PgTools.csv(out).get(0);
            assertEquals("my_node_id on node" + me + ": " + row, Integer.toString(me), row.get("my_node_id"));
            assertEquals("gen_num on node" + me + ": " + row, "1", row.get("gen_num"));
            assertEquals("gen_members on node" + me, "{1,2,3}", row.get("gen_members"));
            assertEquals("gen_members_online on node" + me, "{1,2,3}", row.get("gen_members_online"));
            assertEquals("gen_configured on node" + me, "{1,2,3}", row.get("gen_configured"));
            assertEquals("connected on node" + me, "{1,2,3}", row.get("connected"));
        }
        TestCluster.log(WHO, "all online in generation 1 %d ms after init returned", TestCluster.millisSince(start));
    }

    @Test
    public void step03_nodesListsEveryNodeAsTheDemoShows() {
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int me = id;
            // connected/receiver state follows the status a moment later: poll until the peers' receivers are normal
            String out = Poll.until("node" + me + ": mtm.nodes() with both peers connected, receivers normal", Duration.ofSeconds(60),
                Duration.ofMillis(500), () -> psqlCsv(me, "SELECT * FROM mtm.nodes()"), text -> PgTools.csv(text).stream()
                    .filter(r -> !"t".equals(r.get("is_self"))).allMatch(r -> "normal".equals(r.get("receiver_mode"))
                        && "t".equals(r.get("connected"))));
            assertEquals("mtm.nodes() columns on node" + me, NODES_COLUMNS, PgTools.csvColumns(out));
            List<Map<String, String>> rows = PgTools.csv(out);
            TestCluster.log(WHO, "mtm.nodes() on node%d:\n%s", me, out.trim());
            assertEquals("mtm.nodes() rows on node" + me + ": " + rows, TestCluster.NODES, rows.size());
            for (int i = 0; i < rows.size(); i++) {
                Map<String, String> row = rows.get(i);
                int id2 = i + 1;
                assertEquals("id order on node" + me, Integer.toString(id2), row.get("id"));
                assertEquals("conninfo of node " + id2 + " as given to init_cluster", cluster.node(id2).conninfo(), row.get("conninfo"));
                assertEquals("is_self of node " + id2 + " on node" + me, id2 == me ? "t" : "f", row.get("is_self"));
                assertEquals("enabled of node " + id2 + " on node" + me, "t", row.get("enabled"));
                assertEquals("connected of node " + id2 + " on node" + me, "t", row.get("connected"));
                if (id2 == me) {
                    // the demo prints nothing for the node's own receiver
                    assertEquals("receiver_mode of self on node" + me, "", row.get("receiver_mode"));
                    assertEquals("receiver_pid of self on node" + me, "", row.get("receiver_pid"));
                } else {
                    assertEquals("receiver_mode of node " + id2 + " on node" + me, "normal", row.get("receiver_mode"));
                    assertTrue("n_workers of node " + id2 + " on node" + me + " is a number: " + row,
                        row.get("n_workers").matches("\\d+"));
                    for (String pid : List.of("sender_pid", "receiver_pid")) {
                        assertTrue(pid + " of node " + id2 + " on node" + me + " empty or a pid: " + row, row.get(pid).matches("\\d*"));
                    }
                }
            }
        }
    }

    @Test
    public void step04_rowsInsertedOnNode1AreOnNode2TheMomentInsertReturns() throws SQLException {
        PgTools.Result create = psql(1, "CREATE TABLE multimaster_tbl (id integer primary key, val text);\n"
            + "INSERT INTO multimaster_tbl VALUES (1, 'one'), (2, 'two'), (3, 'three');\n");
        assertTrue("CREATE TABLE + INSERT through gateway 1: " + create,
            create.ok() && create.stdout().contains("CREATE TABLE") && create.stdout().contains("INSERT 0 3"));
        // psql has exited, so COMMIT returned: node 2 must answer with the rows now, without any wait
        PgTools.Result select = psql(2, "SELECT * FROM multimaster_tbl ORDER BY id;\n");
        assertTrue("SELECT through gateway 2: " + select, select.ok());
        assertTrue("node 2 shows the three rows right after the INSERT returned on node 1:\n" + select.stdout(),
            select.stdout().contains("(3 rows)") && select.stdout().contains("three"));
        assertEquals("node 3's own PostgreSQL has them too", "1,2,3",
            Sql.scalar(cluster.postgres(3), "SELECT string_agg(id::text, ',' ORDER BY id) FROM multimaster_tbl"));
    }

    @Test
    public void step05_everyCommitIsOnEveryPeerWhenItReturns() throws SQLException {
        // the same promise for single autocommit statements from a JDBC client, checked on both peers' PostgreSQL
        int rounds = 30;
        try (Connection gw = cluster.viaGateway(1); Connection peer2 = cluster.direct(2); Connection peer3 = cluster.direct(3);
             PreparedStatement insert = gw.prepareStatement("INSERT INTO multimaster_tbl VALUES (?, ?)");
             PreparedStatement on2 = peer2.prepareStatement("SELECT val FROM multimaster_tbl WHERE id = ?");
             PreparedStatement on3 = peer3.prepareStatement("SELECT val FROM multimaster_tbl WHERE id = ?")) {
            for (int i = 0; i < rounds; i++) {
                int id = 100 + i;
                insert.setInt(1, id);
                insert.setString(2, "v" + id);
                assertEquals(1, insert.executeUpdate());
                for (PreparedStatement look : List.of(on2, on3)) {
                    look.setInt(1, id);
                    try (var rs = look.executeQuery()) {
                        assertTrue("row " + id + " on a peer as soon as the INSERT returned", rs.next());
                        assertEquals("v" + id, rs.getString(1));
                    }
                }
            }
        }
        assertEquals(Integer.toString(3 + rounds), Sql.scalar(cluster.gateway(2), "SELECT count(*) FROM multimaster_tbl"));
    }

    /** "Отказ узла": node 3 goes down; nodes 1 and 2 form a new generation {1,2} of {1,2,3} and go on writing. */
    @Test
    public void step06_nodeFailureTheOthersFormANewGenerationAndWriteOn() {
        cluster.node(3).stop(Duration.ofSeconds(60));
        String out = Poll.until("node1 online in a new generation {1,2} of {1,2,3} (mtm.status() through its gateway)",
            Duration.ofSeconds(60), Duration.ofMillis(250), () -> psqlCsv(1, "SELECT * FROM mtm.status()"), text -> {
                Map<String, String> row = PgTools.csv(text).get(0);
                // gen_members_online follows once node 2's heartbeat says it is online in the new generation too
                return "online".equals(row.get("status")) && "{1,2}".equals(row.get("gen_members"))
                    && "{1,2}".equals(row.get("gen_members_online"));
            });
        Map<String, String> row = PgTools.csv(out).get(0);
        TestCluster.log(WHO, "after node 3 stopped, node 1: %s", row);
        failedGeneration = Long.parseLong(row.get("gen_num"));
        assertEquals("the demo's generation after the failure: " + row, 2, failedGeneration);
        assertEquals("connected", "{1,2}", row.get("connected"));
        assertEquals("gen_members_online", "{1,2}", row.get("gen_members_online"));
        assertEquals("gen_configured stays", "{1,2,3}", row.get("gen_configured"));
        PgTools.Result insert = psql(1, "INSERT INTO multimaster_tbl VALUES (11, 'eleven'), (22, 'twenty-two'), (33, 'thirty-three');\n");
        assertTrue("INSERT through gateway 1 with node 3 down: " + insert, insert.ok() && insert.stdout().contains("INSERT 0 3"));
        PgTools.Result select = psql(2, "SELECT id FROM multimaster_tbl WHERE id IN (1, 2, 3, 11, 22, 33) ORDER BY id;\n");
        assertTrue("node 2 shows the six rows:\n" + select.stdout(), select.ok() && select.stdout().contains("(6 rows)"));
    }

    /** "Восстановление узла": node 3 returns, catches up from a donor and is online again in a newer generation. */
    @Test
    public void step07_nodeRecoveryTheReturningNodeCatchesUpAndIsOnlineInANewerGeneration() throws SQLException {
        cluster.node(3).start().awaitReady(org.mtm.itests.harness.LocalCluster.BOOT);
        String out = Poll.until("node3 online again with every node connected (mtm.status() through its gateway)",
            Duration.ofSeconds(180), Duration.ofMillis(500), () -> {
                try {
                    return psqlCsv(3, "SELECT * FROM mtm.status()");
                } catch (IllegalStateException notYet) {
                    return "";
                }
            }, text -> {
                List<Map<String, String>> rows = text.isEmpty() ? List.of() : PgTools.csv(text);
                return rows.size() == 1 && "online".equals(rows.get(0).get("status"))
                    && "{1,2,3}".equals(rows.get(0).get("gen_members"));
            });
        Map<String, String> row = PgTools.csv(out).get(0);
        TestCluster.log(WHO, "node 3 back: %s", row);
        assertEquals("the demo's generation after the recovery: " + row, "3", row.get("gen_num"));
        assertEquals("connected", "{1,2,3}", row.get("connected"));
        assertEquals("gen_configured", "{1,2,3}", row.get("gen_configured"));
        assertEquals("the rows written while node 3 was down are on node 3's own PostgreSQL", "1,2,3,11,22,33",
            Sql.scalar(cluster.postgres(3), "SELECT string_agg(id::text, ',' ORDER BY id) FROM multimaster_tbl WHERE id < 100"));
    }

    /**
     * "Режим 2+1": node 3 dropped through psql, stopped, a referee in its place; nodes 1 and 2 stopped, given
     * referee_connstring, started again (2 first): online in {1,2} of {1,2}, the rows there, three more written.
     */
    @Test
    public void step08_switchTo2Plus1DropNode3AReferee() throws SQLException {
        PgTools.Result drop = psql(1, "SELECT mtm.drop_node(3);\n");
        assertTrue("SELECT mtm.drop_node(3) through gateway 1: " + drop, drop.ok() && drop.stdout().contains("(1 row)"));
        Map<String, String> dropped = awaitStatus(1, "node 1 in a generation of {1,2} after the drop",
            r -> "online".equals(r.get("status")) && "{1,2}".equals(r.get("gen_configured")));
        TestCluster.log(WHO, "after mtm.drop_node(3), node 1: %s", dropped);
        cluster.node(3).stop(Duration.ofSeconds(60));
        cluster.leaveOut(3); // dropped: its copy is no longer the cluster's

        referee = TestReferee.start("seed-demo-referee");

        cluster.node(1).stop(Duration.ofSeconds(60));
        cluster.node(2).stop(Duration.ofSeconds(60));
        for (int id = 1; id <= 2; id++) {
            cluster.node(id).configure("org.mtm.multimaster.cfg", "referee_connstring", referee.conninfo());
        }
        cluster.node(2).start().awaitReady(LocalCluster.BOOT);
        cluster.node(1).start().awaitReady(LocalCluster.BOOT);
        Map<String, String> row = awaitStatus(2, "node 2 online in {1,2} of {1,2} with its referee",
            r -> "online".equals(r.get("status")) && "{1,2}".equals(r.get("gen_members_online")));
        TestCluster.log(WHO, "2+1, node 2: %s", row);
        assertEquals("connected", "{1,2}", row.get("connected"));
        assertEquals("gen_members", "{1,2}", row.get("gen_members"));
        assertEquals("gen_configured", "{1,2}", row.get("gen_configured"));
        assertTrue("a newer generation than the recovery's 3: " + row, Long.parseLong(row.get("gen_num")) > 3);
        PgTools.Result rows = psql(2, "SELECT id FROM multimaster_tbl WHERE id IN (1, 2, 3, 11, 22, 33) ORDER BY id;\n");
        assertTrue("the six rows on node 2:\n" + rows.stdout(), rows.ok() && rows.stdout().contains("(6 rows)"));
        PgTools.Result insert = psql(2, "INSERT INTO multimaster_tbl VALUES (222, 'x'), (333, 'y'), (444, 'z');\n");
        assertTrue("INSERT in 2+1 mode: " + insert, insert.ok() && insert.stdout().contains("INSERT 0 3"));
        // (the demo writes 111, 222, 333; 111 is taken here by step 5's rows 100..129)
        assertEquals("1,2,3,11,22,33,222,333,444", Sql.scalar(cluster.postgres(1),
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM multimaster_tbl WHERE id IN (1,2,3,11,22,33,222,333,444)"));
    }

    /**
     * The exercise's "отказ": node 2 fails (kill -9 of its Karaf and its PostgreSQL; the demo stops it with pg_ctl, a
     * crash is the harder case); node 1 works alone with the referee's grant (members {1} of {1,2}).
     */
    @Test
    public void step09_oneDataNodeFailsTheOtherCarriesOnWithTheRefereesGrant() {
        cluster.node(2).killKaraf();
        cluster.node(2).killPostgres();
        Map<String, String> row = awaitStatus(1, "node 1 online alone in a generation {1} of {1,2}",
            r -> "online".equals(r.get("status")) && "{1}".equals(r.get("gen_members")));
        TestCluster.log(WHO, "node 2 killed, node 1: %s", row);
        assertEquals("connected", "{1}", row.get("connected"));
        assertEquals("gen_members_online", "{1}", row.get("gen_members_online"));
        assertEquals("gen_configured", "{1,2}", row.get("gen_configured"));
        PgTools.Result insert = psql(1, "INSERT INTO multimaster_tbl VALUES (1111, 'a'), (2222, 'b'), (3333, 'c');\n");
        assertTrue("INSERT with node 2 down: " + insert, insert.ok() && insert.stdout().contains("INSERT 0 3"));
    }

    /** "Вернем в строй": node 2 returns, recovers from node 1, both online in {1,2}; the grant is no longer needed. */
    @Test
    public void step10_theFailedDataNodeReturnsAndRecovers() throws SQLException {
        cluster.node(2).start().awaitReady(LocalCluster.BOOT);
        Map<String, String> row = awaitStatus(2, "node 2 online again in {1,2}",
            r -> "online".equals(r.get("status")) && "{1,2}".equals(r.get("gen_members")));
        TestCluster.log(WHO, "node 2 back: %s", row);
        assertEquals("gen_configured", "{1,2}", row.get("gen_configured"));
        assertEquals("the rows written while node 2 was down are on node 2's own PostgreSQL", "1111,2222,3333",
            Sql.scalar(cluster.postgres(2), "SELECT string_agg(id::text, ',' ORDER BY id) FROM multimaster_tbl WHERE id > 1000"));
        PgTools.Result insert = psql(2, "INSERT INTO multimaster_tbl VALUES (4444, 'd');\n");
        assertTrue("INSERT through node 2 after its return: " + insert, insert.ok() && insert.stdout().contains("INSERT 0 1"));
    }

    /** mtm.status() through node's gateway, polled until {@code done}; its row. */
    private static Map<String, String> awaitStatus(int node, String what, java.util.function.Predicate<Map<String, String>> done) {
        String out = Poll.until(what + " (mtm.status() through gateway " + node + ")", Duration.ofSeconds(180),
            Duration.ofMillis(500), () -> {
                try {
                    return psqlCsv(node, "SELECT * FROM mtm.status()");
                } catch (IllegalStateException notYet) {
                    return "";
                }
            }, text -> {
                List<Map<String, String>> rows = text.isEmpty() ? List.of() : PgTools.csv(text);
                return rows.size() == 1 && done.test(rows.get(0));
            });
        return PgTools.csv(out).get(0);
    }

    private static PgTools.Result psql(int node, String script) {
        return PgTools.psql(cluster.gateway(node), script, PSQL);
    }

    /** One query through node's gateway, psql's CSV output (header + rows); fails when psql fails. */
    private static String psqlCsv(int node, String sql) {
        PgTools.Result r = PgTools.psql(cluster.gateway(node), null, PSQL, "--csv", "-c", sql);
        if (!r.ok()) {
            throw new IllegalStateException("psql on gateway " + node + ": " + r);
        }
        return r.stdout();
    }
}
