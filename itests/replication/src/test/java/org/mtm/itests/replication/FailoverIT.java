package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;

import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;

/**
 * Issue 9 (availability): with writers on every gateway, node 3 goes away — stopped, killed -9 with its PostgreSQL,
 * frozen — and nodes 1 and 2 form a new generation {1,2} of {1,2,3} and keep committing; node 3 comes back,
 * catches up from a donor and is online again in a newer generation {1,2,3}. After each round: every acknowledged
 * write on every node, no refused one anywhere, nothing twice, generation numbers never decreasing, nothing
 * prepared left ({@link WriteLoad#stopAndCheck}, the class rule's invariants).
 */
public class FailoverIT {
    private static final String WHO = "FailoverIT";
    /** The survivors' switch: heartbeat_recv_timeout (10 s in these tests, see TestCluster) plus an election. */
    private static final Duration SWITCH = Duration.ofSeconds(60);
    private static final Duration RETURN = Duration.ofSeconds(180);

    @ClassRule
    public static final WriteLoad.Cluster CLUSTER = new WriteLoad.Cluster("failover");

    @Test
    public void theMajorityWritesOnWhileNodeThreeIsAwayAndNodeThreeCatchesUpWhenItReturns() throws Exception {
        KarafNode node3 = CLUSTER.get().node(3);
        round(1, "graceful stop", () -> node3.stop(Duration.ofSeconds(60)), () -> node3.start().awaitReady(LocalCluster.BOOT));
        round(2, "kill -9 of Karaf and PostgreSQL", () -> {
            node3.killKaraf();
            node3.killPostgres();
        }, () -> node3.start().awaitReady(LocalCluster.BOOT));
        round(3, "SIGSTOP", node3::freeze, node3::thaw);
    }

    private static void round(int round, String fault, Runnable away, Runnable back) throws Exception {
        TestCluster cluster = CLUSTER.get();
        WriteLoad load = WriteLoad.start(cluster, WHO, round, 1, 2, 3);
        try {
            load.awaitProgress(20, Duration.ofSeconds(90), "before the " + fault);
            long before = generation(cluster, 1);
            long t = System.nanoTime();
            away.run();
            awaitStatus(cluster, 1, "online", "{1,2}", before, SWITCH);
            awaitStatus(cluster, 2, "online", "{1,2}", before, SWITCH);
            long shrunk = generation(cluster, 1);
            TestCluster.log(WHO, "%s of node 3: nodes 1 and 2 online in generation %d {1,2} after %d ms", fault, shrunk,
                TestCluster.millisSince(t));
            load.awaitProgress(30, Duration.ofSeconds(60), "through gateways 1 and 2 while node 3 is away");
            t = System.nanoTime();
            back.run();
            awaitStatus(cluster, 3, "online", "{1,2,3}", shrunk, RETURN);
            WriteLoad.awaitNormal(cluster, 3, "after the " + fault);
            TestCluster.log(WHO, "node 3 online again in generation %d after %d ms", generation(cluster, 3),
                TestCluster.millisSince(t));
            for (int id = 1; id <= 3; id++) {
                assertEquals("generation of node " + id + " after node 3 returned", generation(cluster, 3), generation(cluster, id));
            }
            load.awaitProgress(20, Duration.ofSeconds(90), "after node 3 returned");
        } finally {
            load.stop();
        }
        load.stopAndCheck();
    }

    /** Node {@code id} says {@code status} with {@code members} as gen_members, configured {1,2,3}, in a generation above {@code above}. */
    private static void awaitStatus(TestCluster cluster, int id, String status, String members, long above, Duration timeout) {
        Poll.until("node " + id + " " + status + " in a generation above " + above + " with members " + members, timeout,
            Duration.ofMillis(100), () -> {
                try (Connection c = cluster.direct(id)) {
                    Map<String, String> row = Sql.rows(c, "SELECT status, gen_num, gen_members::text AS members, "
                        + "gen_configured::text AS configured FROM mtm.status()").get(0);
                    return status.equals(row.get("status")) && members.equals(row.get("members"))
                        && "{1,2,3}".equals(row.get("configured")) && Long.parseLong(row.get("gen_num")) > above;
                } catch (SQLException | RuntimeException e) {
                    return false;
                }
            });
    }

    private static long generation(TestCluster cluster, int id) throws SQLException {
        try (Connection c = cluster.direct(id)) {
            long gen = Long.parseLong(Sql.scalar(c, "SELECT gen_num FROM mtm.status()"));
            assertTrue(gen > 0);
            return gen;
        }
    }
}
