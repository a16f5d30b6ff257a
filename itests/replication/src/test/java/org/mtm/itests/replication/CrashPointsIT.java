package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;
import org.mtm.api.CrashPoints;
import org.mtm.api.CrashPoints.Point;
import org.mtm.api.CrashPoints.Target;
import org.mtm.itests.harness.ClientOutcome;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Postmaster;
import org.mtm.itests.harness.Sql;

/**
 * Issue 7 point 4: a node crashes at one step of the commit path ({@link CrashPoints}), and afterwards the
 * transaction has one outcome on every node, nothing stays prepared, and the outcome agrees with the client's
 * answer (acknowledged: committed; a definite error: absent; connection lost or 08007: either, but the same everywhere).
 *
 * <p>Each case arms its point on the node where it fires (node 1, the coordinator, for the gateway's and the
 * coordinator's points; node 2 for the appliers' PEER_* points), commits one UPDATE + INSERT through gateway 1, waits
 * for the crash, starts again what crashed (a PostgreSQL killed alone must be started again by its node's supervisor),
 * waits until every node is back to normal and then for at most {@link #RESOLUTION} until the transaction is no longer
 * prepared anywhere. Cases run in the order listed, those that need no resolver of in-doubt transactions first.
 */
@RunWith(Parameterized.class)
public class CrashPointsIT {
    private static final String WHO = "CrashPointsIT";
    private static final int COORDINATOR = 1;
    private static final int PEER = 2;
    /** Once every node is back, the bound on finishing the transaction: failure detection plus a margin for the resolver. */
    static final Duration RESOLUTION = Duration.ofMillis(TestCluster.HEARTBEAT_RECV_TIMEOUT_MS + 15_000);
    /** From the client's answer to the crash (PEER_AFTER_COMMIT_PREPARED fires after the client got it). */
    private static final Duration CRASH = Duration.ofSeconds(30);
    /** How long a LINK point keeps the node's transport silent. */
    static final Duration LINK_CUT = Duration.ofMillis(TestCluster.HEARTBEAT_RECV_TIMEOUT_MS + 2_000);
    /** pgjdbc's socket timeout: longer than the coordinator's 60 s decision bound. */
    private static final String CLIENT_TIMEOUT_SECONDS = "90";

    private static TestCluster cluster;
    private static int nextRow = 1;
    /** Set when the cluster did not get back to normal after a case: the next cases fail at once instead of waiting. */
    private static String unrecovered;

    @Parameter(0)
    public Point point;
    @Parameter(1)
    public Target target;

    @Parameters(name = "{0}:{1}")
    public static List<Object[]> cases() {
        return List.of(
            new Object[] {Point.PEER_AFTER_PREPARE, Target.KARAF},
            new Object[] {Point.PEER_AFTER_PREPARE, Target.POSTGRES},
            new Object[] {Point.PEER_BEFORE_COMMIT_PREPARED, Target.KARAF},
            new Object[] {Point.PEER_AFTER_COMMIT_PREPARED, Target.KARAF},
            new Object[] {Point.AFTER_LOCAL_COMMIT, Target.KARAF},
            new Object[] {Point.AFTER_LOCAL_PREPARE, Target.KARAF},
            new Object[] {Point.AFTER_LOCAL_PREPARE, Target.POSTGRES},
            new Object[] {Point.AFTER_SOME_PREPARED, Target.KARAF},
            new Object[] {Point.AFTER_ALL_PREPARED, Target.KARAF},
            new Object[] {Point.AFTER_SOME_PRECOMMITS, Target.KARAF},
            new Object[] {Point.AFTER_ALL_PRECOMMITS, Target.KARAF},
            new Object[] {Point.AFTER_ALL_PRECOMMITS, Target.BOTH},
            // issue 7 point 3: a link cut at a step loses the messages of that moment; nothing may depend on them
            new Object[] {Point.PEER_AFTER_PREPARE, Target.LINK},
            new Object[] {Point.AFTER_ALL_PREPARED, Target.LINK},
            new Object[] {Point.AFTER_SOME_PRECOMMITS, Target.LINK},
            new Object[] {Point.AFTER_ALL_PRECOMMITS, Target.LINK});
    }

    @BeforeClass
    public static void boot() throws SQLException {
        cluster = TestCluster.initialisedWith("crash-points", node -> {
            node.configure("system.properties", CrashPoints.ENABLE_PROPERTY, "true");
            // a cut link lasts long enough for the other nodes to see the node gone
            node.configure("system.properties", CrashPoints.LINK_CUT_PROPERTY, Long.toString(LINK_CUT.toMillis()));
        });
        try {
            Sql.execute(cluster.gateway(COORDINATOR), "CREATE TABLE crash_row (id int PRIMARY KEY, n int NOT NULL)");
            Sql.execute(cluster.gateway(COORDINATOR), "CREATE TABLE crash_log (id int PRIMARY KEY, crash text NOT NULL)");
        } catch (SQLException | RuntimeException e) {
            cluster.close();
            cluster = null;
            throw e;
        }
    }

    @AfterClass
    public static void checkAndStop() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    @Test
    public void oneOutcomeOnEveryNodeNothingPreparedAndTheClientAgrees() throws Exception {
        String crash = point + ":" + target.name().toLowerCase();
        KarafNode crashing = cluster.node(point.name().startsWith("PEER_") ? PEER : COORDINATOR);
        awaitAllNormal("before " + crash);
        int row = nextRow++;
        Sql.execute(cluster.gateway(COORDINATOR), "INSERT INTO crash_row VALUES (" + row + ", 0)");
        Map<Integer, Set<String>> preparedBefore = prepared(); // left by earlier cases: not this one's to judge
        long postmaster = postmasterPid(crashing);

        long start = System.nanoTime();
        crashing.execute("system:property " + CrashPoints.ARMED_PROPERTY + " \"" + crash + "\"");
        WriteLoad.Write answer = commit(row, crash);
        TestCluster.log(WHO, "%s on %s: client %s after %d ms", crash, crashing.name(), describe(answer), TestCluster.millisSince(start));
        awaitCrash(crashing, postmaster, crash);
        restart(crashing, postmaster);
        awaitAllNormal("after " + crash);
        TestCluster.log(WHO, "%s: every node normal again %d ms after the commit began", crash, TestCluster.millisSince(start));

        Map<Integer, Set<String>> left = awaitNotPrepared(preparedBefore);
        Map<Integer, String> outcomes = outcomes(row);
        String seen = crash + " on " + crashing.name() + " (" + firedLine(crashing) + "): client " + describe(answer)
            + "; row " + row + " per node " + outcomes + "; prepared " + RESOLUTION.toSeconds() + " s after every node was back " + left
            + (preparedBefore.values().stream().allMatch(Set::isEmpty) ? "" : " (left by earlier cases, not counted: " + preparedBefore + ")");
        TestCluster.log(WHO, "%s", seen);

        assertTrue("nothing stays prepared: " + seen, left.values().stream().allMatch(Set::isEmpty));
        assertEquals("one outcome on every node: " + seen, 1, new HashSet<>(outcomes.values()).size());
        String outcome = outcomes.get(COORDINATOR);
        assertTrue("UPDATE and INSERT of one transaction both or neither: " + seen, Set.of("committed", "absent").contains(outcome));
        if (point == Point.AFTER_ALL_PRECOMMITS) {
            // the commit point was reached (a majority accepted the precommit): whoever decides it must commit
            assertEquals("decided commit before the crash, so committed: " + seen, "committed", outcome);
        }
        if (answer.acknowledged()) {
            assertEquals("acknowledged, so committed: " + seen, "committed", outcome);
        } else if (!answer.outcomeUnknown()) {
            assertEquals("a definite error " + answer.sqlState() + ", so absent: " + seen, "absent", outcome);
        }
    }

    /** UPDATE + INSERT in one transaction through gateway 1; the client's answer to COMMIT (or to whatever failed). */
    private static WriteLoad.Write commit(int row, String crash) throws SQLException {
        long start = System.nanoTime();
        boolean committing = false;
        try (Connection c = cluster.viaGateway(COORDINATOR, "socketTimeout", CLIENT_TIMEOUT_SECONDS);
             Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            try {
                st.executeUpdate("UPDATE crash_row SET n = n + 1 WHERE id = " + row);
                st.executeUpdate("INSERT INTO crash_log VALUES (" + row + ", '" + crash + "')");
                committing = true;
                c.commit();
                return new WriteLoad.Write(row, true, null, null, false, false, TestCluster.millisSince(start));
            } catch (SQLException e) {
                return new WriteLoad.Write(row, false, Sql.sqlState(e), e.getMessage(), committing, ClientOutcome.connectionEnded(e),
                    TestCluster.millisSince(start));
            }
        }
    }

    private static String describe(WriteLoad.Write answer) {
        if (answer.acknowledged()) {
            return "acknowledged";
        }
        return (answer.outcomeUnknown() ? "outcome unknown " : "definite error ") + answer.sqlState()
            + (answer.atCommit() ? " at COMMIT" : " before COMMIT") + " (" + answer.message() + ")";
    }

    /**
     * The armed point fired: Karaf's processes are gone, or the postmaster is no longer the one before, or (a link cut)
     * the node said so in its log.
     */
    private static void awaitCrash(KarafNode node, long postmasterBefore, String crash) {
        boolean link = crash.endsWith(":link");
        boolean karaf = !crash.endsWith(":postgres") && !link;
        try {
            Poll.until(crash + " fired on " + node.name(), CRASH, Duration.ofMillis(100),
                () -> link ? firedLine(node).contains(crash.substring(0, crash.indexOf(':')).toUpperCase())
                    && firedLine(node).contains("LINK")
                    : karaf ? !node.groupAlive() : postmasterPid(node) != postmasterBefore);
        } catch (AssertionError e) {
            node.tryExecute("system:property -u " + CrashPoints.ARMED_PROPERTY);
            throw new AssertionError(crash + " was never reached on " + node.name() + ":\n" + node.logTail(40), e);
        }
        if (karaf) {
            node.killKaraf(); // already gone: drops the harness' console and JMX connections to the dead JVM
        }
    }

    /**
     * Starts Karaf again when it crashed; a PostgreSQL that crashed alone must be started again by the node itself; a
     * cut link heals by itself.
     */
    private static void restart(KarafNode node, long postmasterBefore) {
        if (postmasterPid(node) == postmasterBefore && node.groupAlive()) {
            return; // a link cut: nothing crashed
        }
        if (!node.groupAlive()) {
            node.start().awaitReady(LocalCluster.BOOT);
        } else {
            Poll.until(node.name() + ": its supervisor starts the killed PostgreSQL again", Duration.ofSeconds(60),
                Duration.ofMillis(200), () -> {
                    long now = postmasterPid(node);
                    return now != -1 && now != postmasterBefore;
                });
        }
    }

    /** What the node said when the point fired (with the gid), from its karaf.out or karaf.log. */
    private static String firedLine(KarafNode node) {
        String fired = "no 'TEST crash point' line found";
        for (Path file : List.of(node.home().resolve("karaf.out"), node.home().resolve("data/log/karaf.log"))) {
            try (Stream<String> lines = Files.lines(file)) {
                fired = lines.filter(l -> l.contains("TEST crash point")).reduce((a, b) -> b).map(String::strip).orElse(fired);
            } catch (IOException | UncheckedIOException e) {
                // not there (yet): the other file may have it
            }
        }
        return fired;
    }

    private static long postmasterPid(KarafNode node) {
        return Postmaster.of(node.datadir()).map(ProcessHandle::pid).orElse(-1L);
    }

    private static void awaitAllNormal(String when) {
        if (unrecovered != null) {
            fail("the cluster did not get back to normal " + unrecovered);
        }
        try {
            for (int id = 1; id <= TestCluster.NODES; id++) {
                WriteLoad.awaitNormal(cluster, id, when);
            }
        } catch (AssertionError e) {
            unrecovered = when;
            throw new AssertionError(e.getMessage() + "\n" + cluster.cluster().logTails(40), e);
        }
    }

    /** Waits up to {@link #RESOLUTION} until no node holds a prepared transaction beyond {@code before}; what is left. */
    private static Map<Integer, Set<String>> awaitNotPrepared(Map<Integer, Set<String>> before) throws SQLException {
        try {
            Poll.until("no new prepared transaction on any node", RESOLUTION, Duration.ofMillis(250),
                () -> preparedSince(before).values().stream().allMatch(Set::isEmpty));
        } catch (AssertionError timedOut) {
            // what is left is the test's failure message
        }
        return preparedSince(before);
    }

    private static Map<Integer, Set<String>> preparedSince(Map<Integer, Set<String>> before) throws SQLException {
        Map<Integer, Set<String>> now = prepared();
        now.forEach((id, gids) -> gids.removeAll(before.get(id)));
        return now;
    }

    /** Prepared transactions (gid) in each node's own PostgreSQL. */
    private static Map<Integer, Set<String>> prepared() throws SQLException {
        Map<Integer, Set<String>> byNode = new TreeMap<>();
        for (int id = 1; id <= TestCluster.NODES; id++) {
            Set<String> gids = new TreeSet<>();
            try (Connection c = cluster.direct(id)) {
                for (Map<String, String> r : Sql.rows(c, "SELECT gid FROM pg_prepared_xacts ORDER BY gid")) {
                    gids.add(r.get("gid"));
                }
            }
            byNode.put(id, gids);
        }
        return byNode;
    }

    /** The transaction on each node's own PostgreSQL: committed (both changes), absent (neither) or torn. */
    private static Map<Integer, String> outcomes(int row) throws SQLException {
        Map<Integer, String> byNode = new TreeMap<>();
        for (int id = 1; id <= TestCluster.NODES; id++) {
            try (Connection c = cluster.direct(id)) {
                String updated = Sql.scalar(c, "SELECT coalesce((SELECT n FROM crash_row WHERE id = " + row + ")::text, 'no row')");
                String inserted = Sql.scalar(c, "SELECT count(*) FROM crash_log WHERE id = " + row);
                String both = updated + "/" + inserted;
                byNode.put(id, "1/1".equals(both) ? "committed" : "0/0".equals(both) ? "absent" : "torn (n/logged = " + both + ")");
            }
        }
        return byNode;
    }
}
