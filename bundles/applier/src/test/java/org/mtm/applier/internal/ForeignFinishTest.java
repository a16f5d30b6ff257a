package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.testing.Await;

/**
 * Three real PostgreSQL 15 nodes: 1 (A) is the origin, 2 (B) applies A's stream, 3 (C) applies A's and B's.
 * B's stream also carries the COMMIT PREPARED of the transactions B applied from A (pgoutput sends no origin
 * message before a K); C must finish them from A's stream only — in A's commit order, and without racing
 * its receiver for A on the same gid ("prepared transaction ... is busy", which used to fail a receiver).
 * The test holds C's receiver for A back after it prepared, so that B's copy of the K reaches C first.
 */
public class ForeignFinishTest {
    private static final int A = 1;
    private static final int B = 2;
    private static final int C = 3;
    private static final Duration WAIT = Duration.ofSeconds(20);

    @ClassRule
    public static final PgNodes NODES = new PgNodes(3);

    @Rule
    public final Timeout timeout = Timeout.seconds(90);

    private final List<Receiver> receivers = new ArrayList<>();

    @After
    public void stopReceivers() throws Exception {
        NODES.stopAll(receivers);
    }

    private Receiver start(int self, int peer, RecordedVotes sink, int workers) {
        Receiver r = new Receiver(self, NODES.clusterNode(peer), NODES.node(self), sink,
                new ApplierSettings(500, workers), () -> 0L, 2).start();
        receivers.add(r);
        return r;
    }

    private static String prepare(int node, String gidOrNull, String sql) throws SQLException {
        try (Connection c = NODES.node(node).connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            st.execute(sql);
            if (gidOrNull == null) {
                return NODES.prepareAsGateway(st, node);
            }
            st.execute("PREPARE TRANSACTION '" + gidOrNull + "'");
            return gidOrNull;
        }
    }

    @Test
    public void serialApplyFinishesOnlyFromTheStreamItAppliedFrom() throws Exception {
        finishesOnlyFromTheStreamItAppliedFrom("fs", 1);
    }

    @Test
    public void parallelApplyFinishesOnlyFromTheStreamItAppliedFrom() throws Exception {
        finishesOnlyFromTheStreamItAppliedFrom("fp", 4);
    }

    private void finishesOnlyFromTheStreamItAppliedFrom(String table, int workers) throws Exception {
        NODES.execEverywhere("CREATE TABLE " + table + " (id int PRIMARY KEY, origin int)");
        RecordedVotes onB = new RecordedVotes();
        RecordedVotes onCFromA = new RecordedVotes();
        RecordedVotes onCFromB = new RecordedVotes();
        start(B, A, onB, workers);
        Receiver cFromA = start(C, A, onCFromA, workers);
        Receiver cFromB = start(C, B, onCFromB, workers);

        String mtm = prepare(A, null, "INSERT INTO " + table + " VALUES (1, 1)");
        String user = prepare(A, table + " user tx", "INSERT INTO " + table + " VALUES (2, 1)");
        onB.await(Kind.PREPARED, mtm, WAIT);
        onCFromA.await(Kind.PREPARED, mtm, WAIT);
        Await.until(WAIT, "user transaction prepared on B and C", () -> NODES.prepared(B, user) && NODES.prepared(C, user));

        cFromA.stop(); // A's stream to C lags: its K will come late
        receivers.remove(cFromA);
        NODES.exec(A, "COMMIT PREPARED '" + mtm + "'", "COMMIT PREPARED '" + user + "'");
        onB.await(Kind.COMMITTED, mtm, WAIT);
        Await.until(WAIT, "user transaction committed on B", () -> !NODES.prepared(B, user));

        // a transaction of B's after those K in B's stream: once C voted on it, C has read past them
        String marker = prepare(B, null, "INSERT INTO " + table + " VALUES (3, 2)");
        onCFromB.await(Kind.PREPARED, marker, WAIT);
        assertTrue("B's copy of the K did not commit A's transaction on C", NODES.prepared(C, mtm));
        assertTrue("nor B's copy of a user gid's K, whose b C skipped", NODES.prepared(C, user));
        assertEquals("no COMMITTED from C's receiver for B", 0, onCFromB.count(Kind.COMMITTED, mtm));
        NODES.exec(B, "COMMIT PREPARED '" + marker + "'");
        onCFromB.await(Kind.COMMITTED, marker, WAIT);

        RecordedVotes onCFromAAgain = new RecordedVotes();
        NODES.awaitStreamGone(C, A);
        Receiver again = start(C, A, onCFromAAgain, workers);
        onCFromAAgain.await(Kind.COMMITTED, mtm, WAIT);
        Await.until(WAIT, "A's stream finished both on C", () -> !NODES.prepared(C, mtm) && !NODES.prepared(C, user));
        Await.until(WAIT, "same rows on B and C", () -> NODES.md5(B, table).equals(NODES.md5(C, table)));
        assertEquals("1:1,2:1,3:2", NODES.query(C, "SELECT string_agg(id || ':' || origin, ',' ORDER BY id) FROM " + table));
        assertEquals("A applies nobody's stream here", "1:1,2:1",
                NODES.query(A, "SELECT string_agg(id || ':' || origin, ',' ORDER BY id) FROM " + table));
        assertEquals("no receiver failed", 0, cFromA.failures() + cFromB.failures() + again.failures());
        assertFalse(NODES.prepared(A, mtm) || NODES.prepared(B, mtm));
    }
}
