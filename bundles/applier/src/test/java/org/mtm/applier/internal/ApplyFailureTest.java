package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.sql.SQLException;
import org.junit.Test;
import org.mtm.api.CommitMessage;
import org.mtm.api.Gid;

public class ApplyFailureTest {

    @Test
    public void lockBoundIsAConflictWith40P01NamingTheRelation() {
        ApplyFailure f = ApplyFailure.of(new SQLException("canceling statement due to lock timeout", "55P03"), 2,
                "MTM-1-7-3", "public.t", 1000);
        assertEquals("40P01", f.sqlState());
        assertEquals("[multimaster] node 2 could not apply transaction MTM-1-7-3: lock on relation public.t not granted"
                + " within 1000 ms, conflicting with a concurrent transaction; retry", f.message());
        CommitMessage vote = f.vote(Gid.parse("MTM-1-7-3"));
        assertEquals(CommitMessage.Kind.ABORTED, vote.kind());
        assertEquals("40P01", vote.sqlState());
    }

    @Test
    public void deadlockAndSerializationKeepTheirStates() {
        assertEquals("40P01", ApplyFailure.of(new SQLException("deadlock detected", "40P01"), 2, "g", null, 1).sqlState());
        ApplyFailure s = ApplyFailure.of(new SQLException("could not serialize\nDETAIL: x", "40001"), 2, "g", null, 1);
        assertEquals("40001", s.sqlState());
        assertEquals("[multimaster] node 2 could not apply transaction g: could not serialize; retry", s.message());
    }

    @Test
    public void aSyntaxErrorNamesThisNodesPostgresVersion() {
        ApplyFailure f = ApplyFailure.of(new SQLException("syntax error at or near \"EXPRESSION\"\n  Position: 35", "42601"),
                1, "g", null, 1, "15.15 (Debian 15.15-0+deb12u1)");
        assertEquals("42601", f.sqlState());
        assertEquals("[multimaster] node 1 could not apply transaction g: syntax error at or near \"EXPRESSION\" (node 1 runs"
                + " PostgreSQL 15.15 (Debian 15.15-0+deb12u1), which does not know this syntax: while the nodes run different"
                + " PostgreSQL majors, use only what the oldest one accepts)", f.message());
        assertEquals("unknown version: no hint", "[multimaster] node 1 could not apply transaction g: syntax error",
                ApplyFailure.of(new SQLException("syntax error", "42601"), 1, "g", null, 1, null).message());
    }

    @Test
    public void otherErrorsKeepTheServersStateAndMessage() {
        ApplyFailure f = ApplyFailure.of(new SQLException("duplicate key value violates unique constraint \"t_pkey\"", "23505"),
                3, "g", "public.t", 1);
        assertEquals("23505", f.sqlState());
        assertEquals("[multimaster] node 3 could not apply transaction g: duplicate key value violates unique constraint \"t_pkey\"",
                f.message());
    }

    @Test
    public void aNameLookedUpOnTheEmptySearchPathOfTheAppliersIsRefusedSayingWhy() {
        // the regression file vacuum: an index expression's function calls another by its bare name
        ApplyFailure f = ApplyFailure.of(new SQLException("ERROR: function do_analyze() does not exist\n  Hint: ...", "42883"),
                2, "g", "public.vaccluster", 1);
        assertEquals("0A000", f.sqlState());
        assertTrue(f.message(), f.message().startsWith("[multimaster] node 2 could not apply transaction g: ERROR: function"
                + " do_analyze() does not exist while writing public.vaccluster: the nodes apply replicated rows with an"
                + " empty search_path"));
        assertEquals("0A000", ApplyFailure.of(new SQLException("ERROR: relation \"lookup\" does not exist", "42P01"), 2, "g",
                "public.t", 1).sqlState());
        // the applier's own message for a table the node lacks, and a failure outside a row write, keep their state
        assertEquals("42P01", ApplyFailure.of(new SQLException("relation public.easi of node 1 does not exist on node 3",
                "42P01"), 3, "g", "public.easi", 1).sqlState());
        assertEquals("42883", ApplyFailure.of(new SQLException("function f() does not exist", "42883"), 3, "g", null, 1)
                .sqlState());
    }

    @Test
    public void connectionAndShutdownErrorsAreNotVotedOn() {
        assertTrue(ApplyFailure.lostConnection(new SQLException("gone", "08006")));
        assertTrue(ApplyFailure.lostConnection(new SQLException("shutdown", "57P01")));
        assertTrue(ApplyFailure.lostConnection(new SQLException("cancelled", "57014")));
        assertTrue(ApplyFailure.lostConnection(new SQLException("no state")));
        assertFalse(ApplyFailure.lostConnection(new SQLException("lock", "55P03")));
    }

    @Test
    public void backoffDoublesUpToItsCapAndResets() {
        Backoff b = new Backoff(200, 1000);
        assertEquals(200, b.next());
        assertEquals(400, b.next());
        assertEquals(800, b.next());
        assertEquals(1000, b.next());
        assertEquals(1000, b.next());
        b.reset();
        assertEquals(200, b.next());
    }

    @Test
    public void lockBoundIsHalfTheHeartbeatTimeoutWithAFloor() {
        assertEquals(1000, ApplierSettings.lockTimeoutFor(2000));
        assertEquals(ApplierSettings.MIN_LOCK_TIMEOUT_MS, ApplierSettings.lockTimeoutFor(50));
    }
}
