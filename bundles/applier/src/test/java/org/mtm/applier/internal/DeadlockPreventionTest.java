package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.testing.Await;

/**
 * deadlock_prevention on a real cross-node cycle: node 1 and node 2 each prepare a transaction updating
 * the same row, then each applies the other's; with a lock bound far away (30 s) only the lock watch
 * can end the cycle quickly.
 */
public class DeadlockPreventionTest {
    private static final Duration QUICK = Duration.ofSeconds(15); // half the lock bound: far from it even on a busy machine
    private static final Duration WAIT = Duration.ofSeconds(20);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(2);

    @Rule
    public final Timeout timeout = Timeout.seconds(90);

    private final RecordedVotes votesOn1 = new RecordedVotes();
    private final RecordedVotes votesOn2 = new RecordedVotes();
    private final List<Receiver> receivers = new ArrayList<>();

    @After
    public void stopReceivers() throws Exception {
        NODES.stopAll(receivers);
    }

    private void startBothWays(DeadlockPrevention prevention) {
        ApplierSettings settings = new ApplierSettings(30_000, 1, prevention);
        receivers.add(new Receiver(2, NODES.clusterNode(1), NODES.node(2), votesOn2, settings, () -> 0L, 1).start());
        receivers.add(new Receiver(1, NODES.clusterNode(2), NODES.node(1), votesOn1, settings, () -> 0L, 1).start());
    }

    private static String prepareOn(int node, String update) throws SQLException {
        return NODES.prepare(node, update);
    }

    /** The same row on both nodes, written under the other node's origin so that it is not replicated. */
    private static void table(String name) throws SQLException {
        for (int node = 1; node <= 2; node++) {
            NODES.exec(node, "CREATE TABLE " + name + " (id int PRIMARY KEY, n int)",
                    "SELECT pg_replication_origin_session_setup('mtm_node_" + (3 - node) + "')",
                    "INSERT INTO " + name + " VALUES (1, 0)");
        }
    }

    @Test
    public void smartVotesDownExactlyOneOfTwoDeadlockedTransactionsAndTheOtherCommits() throws Exception {
        table("sm");
        String on1 = prepareOn(1, "UPDATE sm SET n = n + 1 WHERE id = 1");
        String on2 = prepareOn(2, "UPDATE sm SET n = n + 10 WHERE id = 1");
        boolean loserIs1 = DeadlockPrevention.SMART.abortWaiter(on1, on2);
        assertNotEquals("exactly one loses", loserIs1, DeadlockPrevention.SMART.abortWaiter(on2, on1));
        String loser = loserIs1 ? on1 : on2;
        String winner = loserIs1 ? on2 : on1;
        int loserOrigin = loserIs1 ? 1 : 2;
        int winnerOrigin = 3 - loserOrigin;
        RecordedVotes votesOnWinnersOrigin = winnerOrigin == 1 ? votesOn1 : votesOn2;
        RecordedVotes votesOnLosersOrigin = winnerOrigin == 1 ? votesOn2 : votesOn1;

        long start = System.nanoTime();
        startBothWays(DeadlockPrevention.SMART);
        // the loser's apply on the winner's origin gives up at once
        CommitMessage no = votesOnWinnersOrigin.await(Kind.ABORTED, loser, QUICK).message();
        assertTrue("well before the 30 s lock bound", System.nanoTime() - start < QUICK.toNanos());
        assertEquals("40P01", no.sqlState());
        assertTrue(no.message(), no.message().contains("held by prepared transaction " + winner));
        assertEquals("the winner's apply keeps waiting", 0, votesOnLosersOrigin.of(winner).size());

        // its coordinator aborts the loser; then the winner applies and commits everywhere
        finishCycle("sm", loser, loserOrigin, winner, votesOnLosersOrigin);
    }

    /**
     * The end of a broken two-node cycle on table {@code table}: the loser's coordinator rolls it back, the winner's
     * copy then applies on the loser's origin, the winner commits, and both nodes hold the winner's increment only.
     */
    private static void finishCycle(String table, String loser, int loserOrigin, String winner,
                                    RecordedVotes votesOnLosersOrigin) throws Exception {
        int winnerOrigin = 3 - loserOrigin;
        NODES.exec(loserOrigin, "ROLLBACK PREPARED '" + loser + "'");
        votesOnLosersOrigin.await(Kind.PREPARED, winner, WAIT);
        NODES.exec(winnerOrigin, "COMMIT PREPARED '" + winner + "'");
        votesOnLosersOrigin.await(Kind.COMMITTED, winner, WAIT);
        Await.until(WAIT, "same row on both nodes", () -> NODES.md5(1, table).equals(NODES.md5(2, table)));
        assertEquals(winnerOrigin == 1 ? "1" : "10", NODES.query(1, "SELECT n FROM " + table));
        assertFalse(NODES.prepared(1, loser) || NODES.prepared(2, loser));
        assertEquals("one abort in all", 0, votesOnLosersOrigin.of(loser).stream()
                .filter(v -> v.message().kind() == Kind.ABORTED).count());
    }

    /**
     * The manual's default, {@code off}: no prevention, but the two nodes share the waits their lock watches find
     * ({@link LockGraph}, here linked directly as the transport links them) and see the cycle neither server sees
     * alone. Exactly its victim is voted down, long before the lock bound; the other transaction commits.
     */
    @Test
    public void offFindsTheCycleAcrossNodesFromTheSharedWaitsAndBreaksItWithOneAbort() throws Exception {
        table("gd");
        String on1 = prepareOn(1, "UPDATE gd SET n = n + 1 WHERE id = 1");
        String on2 = prepareOn(2, "UPDATE gd SET n = n + 10 WHERE id = 1");
        boolean victimIs1 = DeadlockPrevention.after(on1, on2);
        String victim = victimIs1 ? on1 : on2;
        String survivor = victimIs1 ? on2 : on1;
        int victimOrigin = victimIs1 ? 1 : 2;
        int survivorOrigin = 3 - victimOrigin;
        RecordedVotes votesOnSurvivorsOrigin = survivorOrigin == 1 ? votesOn1 : votesOn2;
        RecordedVotes votesOnVictimsOrigin = survivorOrigin == 1 ? votesOn2 : votesOn1;

        LockGraph[] graphs = new LockGraph[3];
        graphs[1] = new LockGraph(report -> graphs[2].received(1, report));
        graphs[2] = new LockGraph(report -> graphs[1].received(2, report));
        ApplierSettings settings = new ApplierSettings(30_000, 1, DeadlockPrevention.OFF);
        long start = System.nanoTime();
        receivers.add(new Receiver(2, NODES.clusterNode(1), NODES.node(2), votesOn2, settings, () -> 0L, 1)
                .lockGraph(graphs[2]).start());
        receivers.add(new Receiver(1, NODES.clusterNode(2), NODES.node(1), votesOn1, settings, () -> 0L, 1)
                .lockGraph(graphs[1]).start());

        // the victim's apply, waiting on the survivor's origin, is cancelled and votes it down
        CommitMessage no = votesOnSurvivorsOrigin.await(Kind.ABORTED, victim, QUICK).message();
        assertTrue("well before the 30 s lock bound", System.nanoTime() - start < QUICK.toNanos());
        assertEquals("40P01", no.sqlState());
        assertTrue(no.message(), no.message().contains("held by prepared transaction " + survivor
                + ", which waits for it on another node (global deadlock)"));
        assertEquals("the survivor's apply keeps waiting", 0, votesOnVictimsOrigin.of(survivor).size());

        finishCycle("gd", victim, victimOrigin, survivor, votesOnVictimsOrigin);
    }

    /**
     * Under load the apply is rarely first in the queue for the row: a local session asked first and waits
     * for the prepared transaction too. The watch follows the queue to the prepared transaction at its front.
     */
    @Test
    public void smartSeesThroughALocalSessionQueuedAheadOfTheApply() throws Exception {
        table("sq");
        String on1 = prepareOn(1, "UPDATE sq SET n = n + 1 WHERE id = 1");
        String on2 = prepareOn(2, "UPDATE sq SET n = n + 10 WHERE id = 1");
        List<Thread> locals = new ArrayList<>();
        for (int node = 1; node <= 2; node++) {
            int n = node;
            Thread t = new Thread(() -> {
                try {
                    NODES.exec(n, "SELECT * FROM sq WHERE id = 1 FOR UPDATE"); // waits for the prepared one, then ends
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            t.start();
            locals.add(t);
            Await.until(WAIT, "a local session on node " + n + " waits for the row first", () -> NODES.count(n,
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT * FROM sq%'") == 1);
        }
        boolean loserIs1 = DeadlockPrevention.SMART.abortWaiter(on1, on2);
        String loser = loserIs1 ? on1 : on2;
        String winner = loserIs1 ? on2 : on1;
        int loserOrigin = loserIs1 ? 1 : 2;
        int winnerOrigin = 3 - loserOrigin;
        RecordedVotes votesOnWinnersOrigin = winnerOrigin == 1 ? votesOn1 : votesOn2;
        RecordedVotes votesOnLosersOrigin = winnerOrigin == 1 ? votesOn2 : votesOn1;

        long start = System.nanoTime();
        startBothWays(DeadlockPrevention.SMART);
        CommitMessage no = votesOnWinnersOrigin.await(Kind.ABORTED, loser, QUICK).message();
        assertTrue("well before the 30 s lock bound", System.nanoTime() - start < QUICK.toNanos());
        assertTrue(no.message(), no.message().contains("held by prepared transaction " + winner));

        NODES.exec(loserOrigin, "ROLLBACK PREPARED '" + loser + "'");
        votesOnLosersOrigin.await(Kind.PREPARED, winner, WAIT);
        NODES.exec(winnerOrigin, "COMMIT PREPARED '" + winner + "'");
        votesOnLosersOrigin.await(Kind.COMMITTED, winner, WAIT);
        for (Thread t : locals) {
            t.join(WAIT.toMillis());
            assertFalse("the local sessions finished", t.isAlive());
        }
        Await.until(WAIT, "same row on both nodes", () -> NODES.md5(1, "sq").equals(NODES.md5(2, "sq")));
        assertEquals(winnerOrigin == 1 ? "1" : "10", NODES.query(loserOrigin, "SELECT n FROM sq"));
    }

    @Test
    public void simpleVotesDownBothAtOnce() throws Exception {
        table("si");
        String on1 = prepareOn(1, "UPDATE si SET n = n + 1 WHERE id = 1");
        String on2 = prepareOn(2, "UPDATE si SET n = n + 10 WHERE id = 1");
        long start = System.nanoTime();
        startBothWays(DeadlockPrevention.SIMPLE);
        assertEquals("40P01", votesOn2.await(Kind.ABORTED, on1, QUICK).message().sqlState());
        assertEquals("40P01", votesOn1.await(Kind.ABORTED, on2, QUICK).message().sqlState());
        assertTrue(System.nanoTime() - start < QUICK.toNanos());
        NODES.exec(1, "ROLLBACK PREPARED '" + on1 + "'");
        NODES.exec(2, "ROLLBACK PREPARED '" + on2 + "'");
        // the stream goes on both ways
        String next = prepareOn(1, "UPDATE si SET n = n + 100 WHERE id = 1");
        votesOn2.await(Kind.PREPARED, next, WAIT);
        NODES.exec(1, "COMMIT PREPARED '" + next + "'");
        Await.until(WAIT, "same row on both nodes", () -> NODES.md5(1, "si").equals(NODES.md5(2, "si")));
        assertEquals("100", NODES.query(2, "SELECT n FROM si"));
    }

    @Test
    public void smartRuleIsAntisymmetricAndDoesNotWaitForUserTransactions() {
        DeadlockPrevention smart = DeadlockPrevention.SMART;
        for (String[] pair : new String[][] {{"MTM-2-900-1", "MTM-1-800-1"}, {"MTM-3-5-1", "MTM-1-5-1"}, {"MTM-2-7-2", "MTM-3-7-2"}}) {
            assertNotEquals("exactly one of " + pair[0] + " and " + pair[1] + " loses", smart.abortWaiter(pair[0], pair[1]),
                    smart.abortWaiter(pair[1], pair[0]));
        }
        assertTrue("a user's prepared transaction may stay long", smart.abortWaiter("MTM-1-5-1", "my own tx"));
        assertFalse("one origin's transactions do not conflict", smart.abortWaiter("MTM-1-5-1", "MTM-1-4-1"));
        assertFalse(DeadlockPrevention.OFF.abortWaiter("MTM-2-900-1", "MTM-1-800-1"));
        assertTrue(DeadlockPrevention.SIMPLE.abortWaiter("MTM-1-800-1", "MTM-2-900-1"));
        assertEquals(DeadlockPrevention.SMART, DeadlockPrevention.parse(" Smart ").orElseThrow());
        assertTrue(DeadlockPrevention.parse("sometimes").isEmpty());
    }

    /**
     * A total order (the first of any conflicting set wins on every node), and no node wins by its xid
     * counter: with node 1's xids far below the others', it used to win nearly every conflict.
     */
    @Test
    public void smartOrderIsTotalAndFairAcrossNodes() {
        DeadlockPrevention smart = DeadlockPrevention.SMART;
        java.util.List<String> gids = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            gids.add("MTM-1-" + (1000 + i) + "-1");
            gids.add("MTM-2-" + (9000 + i) + "-1");
            gids.add("MTM-3-" + (9500 + i) + "-1");
        }
        for (String a : gids.subList(0, 60)) {
            for (String b : gids.subList(0, 60)) {
                for (String c : gids.subList(0, 60)) {
                    if (crossNode(a, b) && crossNode(b, c) && crossNode(a, c)
                            && smart.abortWaiter(a, b) && smart.abortWaiter(b, c)) {
                        assertTrue("transitive: " + a + " > " + b + " > " + c, smart.abortWaiter(a, c));
                    }
                }
            }
        }
        int node1Wins = 0;
        int duels = 0;
        for (String a : gids) {
            for (String b : gids) {
                if (a.startsWith("MTM-1-") && !b.startsWith("MTM-1-")) {
                    duels++;
                    node1Wins += smart.abortWaiter(b, a) ? 1 : 0;
                }
            }
        }
        double share = node1Wins / (double) duels;
        assertTrue("node 1 wins about half of its conflicts, not " + share, share > 0.4 && share < 0.6);
    }

    private static boolean crossNode(String a, String b) {
        return a.charAt(4) != b.charAt(4);
    }
}
