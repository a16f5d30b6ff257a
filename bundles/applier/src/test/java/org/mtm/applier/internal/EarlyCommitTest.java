package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Gid;
import org.mtm.testing.Await;

/**
 * Two real PostgreSQL 15 nodes: 1 (A) is the origin, 2 (B) applies A's stream. B commits its prepared copy when the
 * coordinator's COMMIT decision arrives ({@link EarlyCommitter}), before A has even run COMMIT PREPARED, and
 * acknowledges once; the K that A's stream brings later finds it done and neither fails nor acknowledges again. A
 * decision that arrives after the stream's K does nothing.
 */
public class EarlyCommitTest {
    private static final int A = 1;
    private static final int B = 2;
    private static final Duration WAIT = Duration.ofSeconds(20);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(2);

    @Rule
    public final Timeout timeout = Timeout.seconds(90);

    private final List<Receiver> receivers = new ArrayList<>();
    private EarlyCommitter early;

    @After
    public void stop() throws Exception {
        if (early != null) {
            early.close();
        }
        NODES.stopAll(receivers);
        NODES.rollbackAllPrepared();
    }

    private Receiver startOnB(RecordedVotes votes, int workers) {
        early = new EarlyCommitter(NODES.node(B), votes, new EarlyFinishes());
        Receiver r = new Receiver(B, NODES.clusterNode(A), NODES.node(B), votes, new ApplierSettings(500, workers), () -> 0L, 1)
                .earlyFinishes(early.finishes()).start();
        receivers.add(r);
        return r;
    }

    @Test
    public void serialApplyCommitsAtTheDecision() throws Exception {
        commitsAtTheDecision("es", 1);
    }

    @Test
    public void parallelApplyCommitsAtTheDecision() throws Exception {
        commitsAtTheDecision("ep", 4);
    }

    /**
     * The stream's K of a transaction whose early commit is still running waits for it: the next transaction of the
     * stream, which updates the same row, is not applied before (it would wait for the prepared copy's row lock).
     */
    @Test
    public void theStreamWaitsForAnEarlyCommitStillRunning() throws Exception {
        NODES.execEverywhere("CREATE TABLE ew (id int PRIMARY KEY, n int)");
        RecordedVotes onB = new RecordedVotes();
        EarlyFinishes finishes = new EarlyFinishes();
        Receiver b = new Receiver(B, NODES.clusterNode(A), NODES.node(B), onB, new ApplierSettings(500, 1), () -> 0L, 1)
                .earlyFinishes(finishes).start();
        receivers.add(b);

        String first = NODES.prepare(A, "INSERT INTO ew VALUES (1, 1)");
        onB.await(Kind.PREPARED, first, WAIT);
        java.util.concurrent.CompletableFuture<Boolean> running = finishes.claimEarly(first, System.nanoTime());
        NODES.exec(A, "COMMIT PREPARED '" + first + "'");
        String second = NODES.prepare(A, "UPDATE ew SET n = 2 WHERE id = 1");
        // the stream reached the K and took the early commit's claim (both came: the claim is gone); it waits for it
        Await.until(WAIT, "the stream to reach the K of " + first, () -> finishes.size() == 0);
        assertEquals("nothing after the K applied meanwhile", 0, onB.count(Kind.PREPARED, second) + onB.count(Kind.ABORTED, second));
        NODES.exec(B, "COMMIT PREPARED '" + first + "'"); // what the early committer does
        running.complete(true);
        onB.await(Kind.PREPARED, second, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + second + "'");
        onB.await(Kind.COMMITTED, second, WAIT);
        assertEquals("the stream neither committed nor acknowledged the early commit's transaction", 0,
                onB.count(Kind.COMMITTED, first));
        assertEquals("2", NODES.query(B, "SELECT n FROM ew WHERE id = 1"));
        assertEquals(0, b.failures());
    }

    private void commitsAtTheDecision(String table, int workers) throws Exception {
        NODES.execEverywhere("CREATE TABLE " + table + " (id int PRIMARY KEY, n int)");
        RecordedVotes onB = new RecordedVotes();
        Receiver b = startOnB(onB, workers);

        String gid = NODES.prepare(A, "INSERT INTO " + table + " VALUES (1, 1)");
        onB.await(Kind.PREPARED, gid, WAIT);
        early.commitDecided(Gid.parse(gid));
        onB.await(Kind.COMMITTED, gid, WAIT);
        assertFalse("committed on B before its origin committed", NODES.prepared(B, gid));
        assertEquals("1", NODES.query(B, "SELECT n FROM " + table + " WHERE id = 1"));

        // the origin commits; the K reaches B, then a later transaction that updates the same row
        NODES.exec(A, "COMMIT PREPARED '" + gid + "'");
        String later = NODES.prepare(A, "UPDATE " + table + " SET n = 2 WHERE id = 1");
        onB.await(Kind.PREPARED, later, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + later + "'");
        onB.await(Kind.COMMITTED, later, WAIT);
        assertEquals("one acknowledgement: the stream's K found it committed", 1, onB.count(Kind.COMMITTED, gid));
        assertEquals("2", NODES.query(B, "SELECT n FROM " + table + " WHERE id = 1"));
        assertEquals("no receiver failure", 0, b.failures());

        // a decision that comes after the stream's K: nothing to do, no second acknowledgement
        String third = NODES.prepare(A, "INSERT INTO " + table + " VALUES (3, 3)");
        onB.await(Kind.PREPARED, third, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + third + "'");
        onB.await(Kind.COMMITTED, third, WAIT);
        early.commitDecided(Gid.parse(third));
        Await.until(WAIT, "the late decision handled", () -> early.idle());
        String fourth = NODES.prepare(A, "INSERT INTO " + table + " VALUES (4, 4)");
        onB.await(Kind.PREPARED, fourth, WAIT);
        NODES.exec(A, "COMMIT PREPARED '" + fourth + "'");
        onB.await(Kind.COMMITTED, fourth, WAIT);
        assertEquals(1, onB.count(Kind.COMMITTED, third));
        assertEquals(NODES.md5(A, table), NODES.md5(B, table));
        assertEquals(0, b.failures());
    }
}
