package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;

/**
 * Issue 11 part 3, the 2+1 mode (DESIGN §3, referee; manual F.31.3.3; seed 000 "Режим 2+1"): two data nodes with
 * {@code referee_connstring} set to a referee node (a Karaf of role mtm-referee beside its own PostgreSQL).
 * Round 1: writers on both gateways, node 2's Karaf and PostgreSQL killed -9; node 1 gets the referee's grant, works
 * alone in a generation {1} of {1,2} and goes on committing; node 2 returns, recovers from node 1, both are online in
 * a generation {1,2} and the grant is cleared on the referee. Round 2: the grant holder is the one that is gone, the
 * other is refused by the referee (isolated, 57P03) — also across a kill -9 of the referee and its PostgreSQL (the
 * grant is a row there) — until the holder returns. At the end: every acknowledged write on both nodes, identical
 * tables, nothing prepared, generations never decreasing.
 */
public class RefereeIT {
    private static final String WHO = "RefereeIT";
    /** heartbeat_recv_timeout (10 s in these tests, see TestCluster), an election and the referee's answer. */
    private static final Duration SWITCH = Duration.ofSeconds(60);
    private static final Duration RETURN = Duration.ofSeconds(180);

    private static TestReferee testReferee;
    private static KarafNode referee;
    private static TestCluster cluster;

    @BeforeClass
    public static void boot() throws Exception {
        testReferee = TestReferee.start("twoplusone-referee");
        referee = testReferee.node();
        Poll.until("the referee role installed its decision functions in its PostgreSQL", Duration.ofSeconds(60),
            Duration.ofMillis(250), () -> noGrant());
        cluster = TestCluster.initialisedWith("twoplusone", 2,
            node -> node.configure("org.mtm.multimaster.cfg", "referee_connstring", testReferee.conninfo()));
        Sql.execute(cluster.gateway(1), "CREATE TABLE written (id bigint PRIMARY KEY, writer int NOT NULL)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE written_nopk (id bigint NOT NULL, writer int NOT NULL)");
    }

    @AfterClass
    public static void stop() {
        try {
            if (cluster != null) {
                cluster.checkInvariantsAndClose();
            }
        } finally {
            if (testReferee != null) {
                testReferee.close();
            }
        }
    }

    @Test
    public void theSurvivorWorksAloneWithTheGrantAndTheOtherIsRefusedUntilItRecovers() throws Exception {
        // both data nodes see the referee: mtm.referee_status() and mtm:status
        Poll.until("node 1 sees its referee reachable, no grant", Duration.ofSeconds(30), Duration.ofMillis(200),
            () -> refereeStatus(1), row -> "true".equals(row.get("reachable")) && row.get("grant_node") == null);
        String console = cluster.node(2).execute("mtm:status");
        assertTrue(console, console.contains("referee: host=127.0.0.1 port=" + referee.postgresPort()) && console.contains("reachable, grant: none"));

        // round 1: writers on both gateways; node 2 crashes (Karaf and PostgreSQL)
        KarafNode node2 = cluster.node(2);
        WriteLoad load = WriteLoad.start(cluster, WHO, 1, 1, 2);
        long alone;
        try {
            load.awaitProgress(20, Duration.ofSeconds(90), "before node 2 is killed");
            long before = generation(1);
            long t = System.nanoTime();
            node2.killKaraf();
            node2.killPostgres();
            awaitStatus(1, "online", "{1}", before, SWITCH);
            alone = generation(1);
            TestCluster.log(WHO, "node 2 killed: node 1 online alone in generation %d after %d ms", alone, TestCluster.millisSince(t));
            assertEquals("the referee's grant", Map.of("granted_node", "1", "granted_gen", Long.toString(alone)), grant().orElseThrow());
            Poll.until("node 1 shows the grant in mtm.referee_status()", Duration.ofSeconds(10), Duration.ofMillis(200),
                () -> refereeStatus(1), row -> "1".equals(row.get("grant_node")) && Long.toString(alone).equals(row.get("grant_gen")));
            load.awaitProgress(30, Duration.ofSeconds(60), "through gateway 1 while node 2 is away (no precommit round)");
        } finally {
            load.stop(); // the writer of gateway 2 would otherwise wait for it longer than it may
        }
        long t = System.nanoTime();
        node2.start().awaitReady(LocalCluster.BOOT);
        long full = awaitBothOnline(alone);
        TestCluster.log(WHO, "node 2 back: both online in generation %d {1,2} after %d ms", full, TestCluster.millisSince(t));
        Poll.until("the referee's grant cleared", Duration.ofSeconds(30), Duration.ofMillis(200), () -> noGrant());
        load.stopAndCheck(1, 2);
        WriteLoad after = WriteLoad.start(cluster, WHO, 2, 1, 2);
        after.awaitProgress(20, Duration.ofSeconds(90), "on both gateways after node 2 returned");
        after.stopAndCheck(1, 2);

        // round 2: node 1 crashes, node 2 gets the grant; then node 2 crashes too and node 1 returns first: refused
        KarafNode node1 = cluster.node(1);
        node1.killKaraf();
        awaitStatus(2, "online", "{2}", full, SWITCH);
        long held = generation(2);
        assertEquals(Map.of("granted_node", "2", "granted_gen", Long.toString(held)), grant().orElseThrow());
        Sql.execute(cluster.gateway(2), "INSERT INTO written VALUES (-1, 2)");
        Sql.execute(cluster.gateway(2), "INSERT INTO written_nopk VALUES (-1, 2)");
        node2.killKaraf();
        node1.start().awaitReady(LocalCluster.BOOT);
        Poll.until("node 1 asked the referee and was refused", Duration.ofSeconds(60), Duration.ofMillis(500),
            () -> node1.logTail(2000).contains("grant was already issued to node 2 in generation " + held));
        // the grant is a row in the referee's PostgreSQL: it survives a crash of the referee and its server
        referee.killKaraf();
        referee.killPostgres();
        Poll.until("node 1 shows its referee unreachable and warns", Duration.ofSeconds(30), Duration.ofMillis(200),
            () -> "false".equals(refereeStatus(1).get("reachable")) && node1.logTail(500).contains("WARN")
                && node1.logTail(500).contains("cannot reach its referee"));
        referee.start().awaitReady(LocalCluster.BOOT);
        Poll.until("the referee is back", Duration.ofSeconds(60), Duration.ofMillis(250), () -> grant() != null && grant().isPresent());
        assertEquals(Map.of("granted_node", "2", "granted_gen", Long.toString(held)), grant().orElseThrow());
        Poll.until("node 1 sees the referee again", Duration.ofSeconds(30), Duration.ofMillis(200),
            () -> refereeStatus(1), row -> "true".equals(row.get("reachable")));
        Map<String, String> refused = status(1);
        assertEquals("node 1 without its peer and without the grant: " + refused, "isolated", refused.get("status"));
        try (Connection c = cluster.viaGateway(1)) {
            SQLException e = org.junit.Assert.assertThrows(SQLException.class, () -> Sql.scalar(c, "SELECT count(*) FROM written"));
            assertEquals(e.getMessage(), "57P03", Sql.sqlState(e));
        }
        t = System.nanoTime();
        node2.start().awaitReady(LocalCluster.BOOT);
        long again = awaitBothOnline(held);
        TestCluster.log(WHO, "the holder back: both online in generation %d {1,2} after %d ms", again, TestCluster.millisSince(t));
        Poll.until("the referee's grant cleared again", Duration.ofSeconds(30), Duration.ofMillis(200), () -> noGrant());
        try (Connection c = cluster.direct(1)) {
            assertEquals("node 1 recovered the holder's write", "1", Sql.scalar(c, "SELECT count(*) FROM written WHERE id = -1"));
        }
        WriteLoad last = WriteLoad.start(cluster, WHO, 3, 1, 2);
        last.awaitProgress(20, Duration.ofSeconds(90), "on both gateways at the end");
        last.stopAndCheck(1, 2);
    }

    /** Both nodes online in one generation {1,2} of {1,2} above {@code above}; returns its number. */
    private static long awaitBothOnline(long above) throws SQLException {
        awaitStatus(2, "online", "{1,2}", above, RETURN);
        awaitStatus(1, "online", "{1,2}", above, RETURN);
        long gen = generation(1);
        assertEquals("both nodes in one generation", gen, generation(2));
        return gen;
    }

    /** The grant held by the referee, read in its PostgreSQL; empty for none (or while it is unreachable: null). */
    private static java.util.Optional<Map<String, String>> grant() {
        try {
            List<Map<String, String>> rows = Sql.rows(referee.postgresPort(), "SELECT * FROM mtm.referee_grant()");
            return rows.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(rows.get(0));
        } catch (SQLException e) {
            return null;
        }
    }

    private static boolean noGrant() {
        java.util.Optional<Map<String, String>> g = grant();
        return g != null && g.isEmpty();
    }

    private static Map<String, String> refereeStatus(int id) {
        try {
            List<Map<String, String>> rows = Sql.rows(cluster.postgres(id), "SELECT referee_connstring, reachable::text AS reachable, grant_node, grant_gen, problem FROM mtm.referee_status()");
            return rows.isEmpty() ? Map.of() : rows.get(0);
        } catch (SQLException e) {
            return Map.of();
        }
    }

    private static Map<String, String> status(int id) throws SQLException {
        return Sql.rows(cluster.postgres(id), "SELECT status, gen_num, gen_members::text AS members,"
            + " gen_configured::text AS configured FROM mtm.status()").get(0);
    }

    /** Node {@code id} says {@code status} with {@code members}, configured {1,2}, in a generation above {@code above}. */
    private static void awaitStatus(int id, String status, String members, long above, Duration timeout) {
        Poll.until("node " + id + " " + status + " in a generation above " + above + " with members " + members, timeout,
            Duration.ofMillis(100), () -> {
                try {
                    Map<String, String> row = status(id);
                    return status.equals(row.get("status")) && members.equals(row.get("members"))
                        && "{1,2}".equals(row.get("configured")) && Long.parseLong(row.get("gen_num")) > above;
                } catch (SQLException | RuntimeException e) {
                    return false;
                }
            });
    }

    private static long generation(int id) throws SQLException {
        return Long.parseLong(status(id).get("gen_num"));
    }
}
