package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

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
import org.mtm.api.PrepareAdmission.Verdict;
import org.mtm.testing.Await;

/**
 * The generation gate at PREPARE (DESIGN §3: a switch excludes concurrent PREPAREs): node 2 applies node 1's
 * stream, and every PREPARE of an MTM- gid asks {@link TestClusterState#admitPrepare} right around it. APPLY
 * prepares and votes PREPARED; REFUSE rolls back and votes ABORTED (40001, naming the gid and both generations);
 * WAIT rolls back, votes nothing and streams the PREPARE again until the verdict changes. Every admission is
 * closed. Serial and parallel apply.
 */
public class GenerationGateTest {
    private static final int A = 1;
    private static final int B = 2;
    private static final Duration WAIT = Duration.ofSeconds(20);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(2);

    @Rule
    public final Timeout timeout = Timeout.seconds(90);

    private final List<Receiver> receivers = new ArrayList<>();

    @After
    public void stopReceivers() throws Exception {
        NODES.stopAll(receivers);
    }

    @Test
    public void serialApplyAsksTheGateAtEveryPrepare() throws Exception {
        verdicts("gs", 1);
    }

    @Test
    public void parallelApplyAsksTheGateAtEveryPrepare() throws Exception {
        verdicts("gp", 4);
    }

    private void verdicts(String table, int workers) throws Exception {
        NODES.execEverywhere("CREATE TABLE " + table + " (id int PRIMARY KEY)");
        TestClusterState state = new TestClusterState(B);
        state.generation = 1;
        RecordedVotes votes = new RecordedVotes();
        Receiver r = new Receiver(B, NODES.clusterNode(A), NODES.node(B), votes, new ApplierSettings(500, workers),
                () -> 0L, state::admitPrepare, 1).start();
        receivers.add(r);

        String applied = NODES.prepare(A, "INSERT INTO " + table + " VALUES (1)");
        votes.await(Kind.PREPARED, applied, WAIT);
        assertTrue(NODES.prepared(B, applied));
        NODES.exec(A, "COMMIT PREPARED '" + applied + "'");
        votes.await(Kind.COMMITTED, applied, WAIT);

        state.verdict = Verdict.REFUSE;
        state.generation = 2;
        String refused = NODES.prepare(A, "INSERT INTO " + table + " VALUES (2)");
        CommitMessage no = votes.await(Kind.ABORTED, refused, WAIT).message();
        assertEquals("40001", no.sqlState());
        assertTrue(no.message(), no.message().contains(refused) && no.message().contains("generation 1")
                && no.message().contains("generation 2") && no.message().contains("node 2"));
        assertFalse("refused: not prepared", NODES.prepared(B, refused));
        NODES.exec(A, "ROLLBACK PREPARED '" + refused + "'");

        state.verdict = Verdict.WAIT;
        int before = state.admissions.get();
        String waiting = NODES.prepare(A, "INSERT INTO " + table + " VALUES (3)");
        Await.until(WAIT, "the waiting PREPARE streamed again several times", () -> state.admissions.get() >= before + 3);
        assertEquals("no vote while waiting", 0, votes.of(waiting).size());
        assertFalse("not prepared while waiting", NODES.prepared(B, waiting));
        if (workers == 1) { // parallel workers' sessions are dropped, and their origins may be busy for a moment
            assertEquals("waiting is no receiver failure", 0, r.failures());
        }
        state.verdict = Verdict.APPLY;
        votes.await(Kind.PREPARED, waiting, WAIT);
        assertTrue(NODES.prepared(B, waiting));
        NODES.exec(A, "COMMIT PREPARED '" + waiting + "'");
        votes.await(Kind.COMMITTED, waiting, WAIT);

        assertEquals("every admission closed", 0, state.open.get());
        assertEquals("1,3", NODES.query(B, "SELECT string_agg(id::text, ',' ORDER BY id) FROM " + table));
        assertEquals(0, votes.count(Kind.ABORTED, applied) + votes.count(Kind.ABORTED, waiting));
    }
}
