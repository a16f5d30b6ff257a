package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;

import org.junit.AfterClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.postgresql.util.PSQLException;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;
import org.mtm.itests.harness.TransportLinks;

/**
 * Issue 9 (availability): with writers on every gateway, node 3 goes away — stopped, killed -9 with its PostgreSQL,
 * frozen, cut off, or cut from node 1 only (then it says isolated and refuses reads too) — and nodes 1 and 2 form a new generation {1,2} of {1,2,3} and keep committing; node 3 comes back,
 * catches up from a donor and is online again in a newer generation {1,2,3}. After each round: every acknowledged
 * write on every node, no refused one anywhere, nothing twice, generation numbers never decreasing, nothing
 * prepared left ({@link WriteLoad#stopAndCheck}, the class rule's invariants).
 */
public class FailoverIT {
    private static final String WHO = "FailoverIT";
    /** The survivors' switch: heartbeat_recv_timeout (10 s in these tests, see TestCluster) plus an election. */
    private static final Duration SWITCH = Duration.ofSeconds(60);
    private static final Duration RETURN = Duration.ofSeconds(180);

    /** tx_delay_on_slow_catchup on every node, bounded small: round 1 checks that commits were delayed. */
    private static final int MAX_TX_DELAY_MS = 50;

    /** Every transport link through a proxy, for the rounds that cut node 3 off or cut one link. */
    private static final TransportLinks LINKS = new TransportLinks(TestCluster.NODES);

    @ClassRule
    public static final WriteLoad.Cluster CLUSTER = new WriteLoad.Cluster("failover", node -> {
        LINKS.configure(node);
        node.configure("org.mtm.multimaster.cfg", "tx_delay_on_slow_catchup", "true")
            .configure("org.mtm.multimaster.cfg", "max_tx_delay_on_slow_catchup", Integer.toString(MAX_TX_DELAY_MS));
    });

    @AfterClass
    public static void closeLinks() {
        LINKS.close();
    }

    @Test
    public void theMajorityWritesOnWhileNodeThreeIsAwayAndNodeThreeCatchesUpWhenItReturns() throws Exception {
        KarafNode node3 = CLUSTER.get().node(3);
        round(1, "graceful stop", () -> node3.stop(Duration.ofSeconds(60)), () -> {
            // megabytes node 3 misses: its catch-up starts far behind, and the writers on 1 and 2 are slowed meanwhile
            bulkWrite();
            node3.start().awaitReady(LocalCluster.BOOT);
        });
        assertCommitsWereDelayed();
        // a client session of node 3 holds a temporary table (issue 12) when the node crashes: none is left afterwards
        java.sql.Connection withTemporaryTable = TemporaryStandIns.openSession(CLUSTER.get(), 3, "temp_staged");
        round(2, "kill -9 of Karaf and PostgreSQL", () -> {
            node3.killKaraf();
            node3.killPostgres();
        }, () -> node3.start().awaitReady(LocalCluster.BOOT));
        TemporaryStandIns.closeQuietly(withTemporaryTable);
        TemporaryStandIns.assertNoneLeft(CLUSTER.get(), 3);
        round(3, "SIGSTOP", node3::freeze, node3::thaw);
        round(4, "cut off (links 3–1 and 3–2 cut)", () -> {
            LINKS.cut(3, 1);
            LINKS.cut(3, 2);
            awaitIsolatedAndRefusing(3);
        }, LINKS::healAll);
        // an edge partition: 3 still reaches 2, but {1,2} is the larger clique (ties go to the lower ids)
        round(5, "edge partition (link 1–3 cut)", () -> {
            LINKS.cut(1, 3);
            awaitIsolatedAndRefusing(3);
        }, LINKS::healAll);
        walGoneRound(6);
    }

    /**
     * Node {@code id}, running but outside the majority, says isolated and refuses reads as well as writes through its
     * gateway with the manual's 57P03.
     */
    private static void awaitIsolatedAndRefusing(int id) {
        TestCluster cluster = CLUSTER.get();
        Poll.until("node " + id + " isolated", SWITCH, Duration.ofMillis(100), () -> {
            try (Connection c = cluster.direct(id)) {
                return "isolated".equals(Sql.scalar(c, "SELECT status FROM mtm.status()"));
            } catch (SQLException e) {
                return false;
            }
        });
        try (Connection c = cluster.viaGateway(id)) {
            Sql.scalar(c, "SELECT count(*) FROM written");
            throw new AssertionError("a read through gateway " + id + " of an isolated node was answered");
        } catch (SQLException e) {
            assertEquals("a read through gateway " + id + " of an isolated node: " + e.getMessage(), "57P03", e.getSQLState());
            TestCluster.log(WHO, "node %d isolated; a read through its gateway: %s %s", id, e.getSQLState(), e.getMessage());
        }
    }

    /**
     * The WAL node 3 needs is gone at both donors while it is away: its slot there was dropped (the invalidation of a
     * slot by max_slot_wal_keep_size, wal_status lost, is WalGoneRecoveryTest's, on servers without live peers). Node 3
     * tries both, then goes disabled for good and says so — mtm.status(), the
     * refusal's hint, an ERROR in its log, the durable reason, across a restart — while nodes 1 and 2 go on writing.
     * Node 3 stays left out of the class's invariants (it must be dropped and added again).
     */
    private static void walGoneRound(int round) throws Exception {
        TestCluster cluster = CLUSTER.get();
        KarafNode node3 = cluster.node(3);
        WriteLoad load = WriteLoad.start(cluster, WHO, round, 1, 2);
        try {
            load.awaitProgress(20, Duration.ofSeconds(90), "before node 3 stops");
            long before = generation(cluster, 1);
            node3.stop(Duration.ofSeconds(60));
            awaitStatus(cluster, 1, "online", "{1,2}", before, SWITCH);
            awaitStatus(cluster, 2, "online", "{1,2}", before, SWITCH);
            for (int id = 1; id <= 2; id++) {
                TestCluster.log(WHO, "node %d slots before: %s", id, slots(cluster.postgres(id)));
                Sql.execute(cluster.postgres(id), "SELECT pg_drop_replication_slot('mtm_slot_3')");
            }
            load.awaitProgress(20, Duration.ofSeconds(60), "through gateways 1 and 2 while node 3 is away");
            long t = System.nanoTime();
            node3.start().awaitReady(LocalCluster.BOOT);
            awaitDisabled(cluster, Duration.ofSeconds(120));
            TestCluster.log(WHO, "WAL gone: node 3 disabled %d ms after its start", TestCluster.millisSince(t));
            String log = node3.logTail(2000);
            assertTrue("an ERROR in node 3's log naming the slot and what to do:\n" + node3.logTail(80),
                log.contains("ERROR") && log.contains("disabled: the WAL this node needs") && log.contains("mtm_slot_3")
                    && log.contains("mtm.drop_node(3)"));
            assertRefusedWithAdvice(cluster);
            for (int id = 1; id <= 2; id++) {
                TestCluster.log(WHO, "node %d slots with node 3 disabled: %s", id, slots(cluster.postgres(id)));
            }
            // durable: a restart keeps it disabled, and it never goes online meanwhile
            node3.stop(Duration.ofSeconds(60));
            node3.start().awaitReady(LocalCluster.BOOT);
            awaitDisabled(cluster, Duration.ofSeconds(120));
            try {
                String left = Poll.until("node 3 leaving disabled (it must not)", Duration.ofSeconds(15),
                    Duration.ofMillis(500), () -> Sql.scalar(cluster.postgres(3), "SELECT status FROM mtm.status()"),
                    status -> !"disabled".equals(status));
                throw new AssertionError("node 3 left disabled after its restart: " + left);
            } catch (AssertionError e) {
                if (!String.valueOf(e.getMessage()).startsWith("timed out")) {
                    throw e;
                }
            }
            load.awaitProgress(20, Duration.ofSeconds(60), "through gateways 1 and 2 with node 3 disabled");
            for (int id = 1; id <= 2; id++) {
                assertEquals("node " + id + " online in {1,2}", "online|{1,2}", Sql.scalar(cluster.postgres(id),
                    "SELECT status || '|' || gen_members::text FROM mtm.status()"));
            }
        } finally {
            load.stop();
        }
        cluster.leaveOut(3);
        load.stopAndCheck(1, 2);
        assertLivePeersSlotsConfirmed(cluster);
    }

    /** What nodes 1 and 2 may keep of WAL for each other once writes stop: a hold beyond it would grow without end. */
    private static final long LIVE_SLOT_BOUND = 1024 * 1024;

    /**
     * After all the rounds, the slots nodes 1 and 2 stream to each other are confirmed close to the WAL end once the
     * writes stopped: no transaction held them for good (ForeignHold), and their WAL is not retained without bound.
     */
    private static void assertLivePeersSlotsConfirmed(TestCluster cluster) throws SQLException {
        String sql = "SELECT active AND pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) < " + LIVE_SLOT_BOUND
            + " FROM pg_replication_slots WHERE slot_name = ?";
        try {
            Poll.until("mtm_slot_2 on node 1 and mtm_slot_1 on node 2 active and confirmed within " + LIVE_SLOT_BOUND
                + " bytes of the WAL end", Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
                    try {
                        return "t".equals(Sql.scalar(cluster.postgres(1), sql.replace("?", "'mtm_slot_2'")))
                            && "t".equals(Sql.scalar(cluster.postgres(2), sql.replace("?", "'mtm_slot_1'")));
                    } catch (SQLException | RuntimeException e) {
                        return false;
                    }
                });
        } finally {
            for (int id = 1; id <= 2; id++) {
                TestCluster.log(WHO, "node %d slots at the end: %s", id, slots(cluster.postgres(id)));
            }
        }
    }

    /** The replication slots of the server at {@code port}, how far behind its WAL end, for the log. */
    private static String slots(int port) throws SQLException {
        return Sql.rows(port, "SELECT slot_name, active, wal_status, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(),"
            + " restart_lsn)) AS restart_behind, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn))"
            + " AS confirmed_behind FROM pg_replication_slots ORDER BY slot_name").toString();
    }

    private static void awaitDisabled(TestCluster cluster, Duration timeout) {
        Poll.until("node 3 disabled, with its reason recorded", timeout, Duration.ofMillis(250), () -> {
            try (Connection c = cluster.direct(3)) {
                return "disabled".equals(Sql.scalar(c, "SELECT status FROM mtm.status()"))
                    && Sql.scalar(c, "SELECT disabled_because FROM mtm.generation_state") != null;
            } catch (SQLException | RuntimeException e) {
                return false;
            }
        });
    }

    /** A write through node 3's gateway: 57P03, the status, and a hint saying what to do. */
    private static void assertRefusedWithAdvice(TestCluster cluster) throws SQLException {
        try (Connection c = cluster.viaGateway(3)) {
            Sql.scalar(c, "INSERT INTO written VALUES (-1, 3) RETURNING id");
            throw new AssertionError("node 3 accepted a write while disabled");
        } catch (PSQLException e) {
            assertEquals("57P03", e.getSQLState());
            String hint = e.getServerErrorMessage() == null ? "" : String.valueOf(e.getServerErrorMessage().getHint());
            assertTrue(e.getMessage() + " / hint: " + hint, e.getMessage().contains("\"disabled\"")
                && hint.contains("cannot recover by itself") && hint.contains("mtm.drop_node(3)"));
        }
    }

    private static void bulkWrite() {
        try {
            Sql.execute(CLUSTER.get().gateway(1), "CREATE TABLE bulk (id int PRIMARY KEY, pad text NOT NULL)");
            Sql.execute(CLUSTER.get().gateway(1), "INSERT INTO bulk SELECT g, (SELECT string_agg(md5(g::text || i::text), '')"
                + " FROM generate_series(1, 30) i) FROM generate_series(1, 12000) g");
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * tx_delay_on_slow_catchup had an effect: node 1 or 2 held commit acknowledgements back while node 3 caught up
     * (its counted log line), never longer than max_tx_delay_on_slow_catchup.
     */
    private static void assertCommitsWereDelayed() {
        java.util.regex.Pattern line = java.util.regex.Pattern.compile(
            "tx_delay_on_slow_catchup: delayed (\\d+) commit\\(s\\) by (\\d+) ms in all.*now (\\d+) ms a commit");
        long commits = 0;
        for (int id = 1; id <= 2; id++) {
            java.util.regex.Matcher m = line.matcher(CLUSTER.get().node(id).logTail(100_000));
            while (m.find()) {
                commits += Long.parseLong(m.group(1));
                assertTrue("a delay above max_tx_delay_on_slow_catchup: " + m.group(),
                    Long.parseLong(m.group(3)) <= MAX_TX_DELAY_MS
                        && Long.parseLong(m.group(2)) <= Long.parseLong(m.group(1)) * MAX_TX_DELAY_MS);
            }
        }
        TestCluster.log(WHO, "tx_delay_on_slow_catchup delayed %d commit(s) on nodes 1 and 2 while node 3 caught up", commits);
        assertTrue("commits delayed on node 1 or 2 while node 3 caught up from megabytes behind", commits > 0);
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
