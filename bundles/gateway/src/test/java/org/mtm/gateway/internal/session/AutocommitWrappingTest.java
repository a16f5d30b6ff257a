package org.mtm.gateway.internal.session;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.gateway.internal.session.AutocommitWrapping.ExecuteAction;
import org.mtm.gateway.internal.session.AutocommitWrapping.QueryAction;
import org.mtm.gateway.internal.sql.Replication.Reach;
import org.mtm.gateway.internal.sql.SqlSplitter;
import org.mtm.gateway.internal.sql.StatementKind;

/** The rules of autocommit wrapping, by {@code new}: which statements run in the gateway's block, read-only, or as sent. */
public class AutocommitWrappingTest {
    private static final char UNKNOWN = 0;

    private static AutocommitWrapping on() {
        return new AutocommitWrapping(() -> true, () -> true);
    }

    private static QueryAction query(AutocommitWrapping w, String sql, char status) {
        return w.simpleQuery(SqlSplitter.split(sql, true), status);
    }

    @Test
    public void simpleQueries() {
        AutocommitWrapping w = on();
        assertEquals(QueryAction.READ_ONLY, query(w, "SELECT abalance FROM pgbench_accounts WHERE aid = 1", 'I'));
        assertEquals(QueryAction.READ_ONLY, query(w, "SELECT 1; ; SELECT 2", 'I'));
        assertEquals(QueryAction.WRAP, query(w, "SELECT 1; INSERT INTO t VALUES (1)", 'I'));
        assertEquals(QueryAction.WRAP, query(w, "SELECT nextval('s')", 'I'));
        assertEquals(QueryAction.WRAP, query(w, "UPDATE t SET a = 1", 'I'));
        // status not known (replies pending): the plan waits and decides; a read is wrapped then, as before
        assertEquals(QueryAction.WRAP, query(w, "SELECT 1", UNKNOWN));
        // inside the client's transaction nothing is wrapped or guarded
        assertEquals(QueryAction.RELAY, query(w, "SELECT 1", 'T'));
        assertEquals(QueryAction.RELAY, query(w, "UPDATE t SET a = 1", 'T'));
        // statements that cannot write, and transaction control, are relayed
        assertEquals(QueryAction.RELAY, query(w, "SET search_path = x; SHOW search_path", 'I'));
        assertEquals(QueryAction.RELAY, query(w, "BEGIN; UPDATE t SET a = 1", 'I'));
        // a read among statements that are not reads is wrapped, as any statement that may write
        assertEquals(QueryAction.WRAP, query(w, "SET x.y = 1; SELECT 1", 'I'));
        AutocommitWrapping off = new AutocommitWrapping(() -> false, () -> true);
        assertEquals(QueryAction.RELAY, query(off, "SELECT 1", 'I'));
        assertEquals(QueryAction.RELAY, query(off, "UPDATE t SET a = 1", 'I'));
    }

    @Test
    public void anExtendedBatchIsDecidedByItsFirstStatementThatMayWrite() {
        AutocommitWrapping w = on();
        assertEquals(ExecuteAction.RELAY, w.execute(StatementKind.OTHER, Reach.SESSION, false, 'I', false));
        assertEquals(ExecuteAction.BEGIN, w.execute(StatementKind.OTHER, Reach.ROWS, false, 'I', false));
        assertTrue(w.batchWrapped());
        assertEquals(ExecuteAction.RELAY, w.execute(StatementKind.OTHER, Reach.ROWS, false, 'I', false));
        assertTrue("the Sync of a wrapped batch is the gateway's commit", w.batchEnded());
        assertFalse(w.batchEnded());
    }

    @Test
    public void anAutocommitReadFollowedBySyncRunsReadOnly() {
        AutocommitWrapping w = on();
        assertEquals(ExecuteAction.READ_ONLY, w.execute(StatementKind.OTHER, Reach.READ, false, 'I', true));
        assertFalse(w.batchEnded());
        // not known to end the batch: a later statement could write in the same implicit transaction
        assertEquals(ExecuteAction.BEGIN, w.execute(StatementKind.OTHER, Reach.READ, false, 'I', false));
        assertTrue(w.batchEnded());
    }

    @Test
    public void theStatusMustBeKnownBeforeTheBatchIsDecided() {
        AutocommitWrapping w = on();
        assertEquals(ExecuteAction.WAIT_FOR_STATUS, w.execute(StatementKind.OTHER, Reach.READ, false, UNKNOWN, true));
        assertEquals(ExecuteAction.WAIT_FOR_STATUS, w.execute(StatementKind.OTHER, Reach.ROWS, false, UNKNOWN, false));
        assertEquals(ExecuteAction.RELAY, w.execute(StatementKind.OTHER, Reach.ROWS, false, 'T', false));
        assertFalse(w.batchEnded());
    }

    @Test
    public void clientTransactionControlDecidesTheBatch() {
        AutocommitWrapping w = on();
        assertEquals(ExecuteAction.RELAY, w.execute(StatementKind.BEGIN, Reach.ROWS, false, 'I', false));
        assertEquals(ExecuteAction.RELAY, w.execute(StatementKind.OTHER, Reach.ROWS, false, 'I', false));
        assertFalse(w.batchEnded());
        assertEquals("a stand-in's creation decides too", ExecuteAction.BEGIN,
                w.execute(StatementKind.OTHER, Reach.TEMPORARY, true, 'I', false));
    }

    @Test
    public void withWrappingOffOnlyGlobalDdlOfAnInitialisedClusterIsTheGatewaysCommit() {
        AutocommitWrapping w = new AutocommitWrapping(() -> false, () -> true);
        assertEquals(ExecuteAction.RELAY, w.execute(StatementKind.OTHER, Reach.ROWS, false, 'I', false));
        assertEquals(ExecuteAction.RELAY, w.execute(StatementKind.OTHER, Reach.READ, false, 'I', true));
        assertEquals(ExecuteAction.BEGIN, w.execute(StatementKind.OTHER, Reach.GLOBAL_DDL, false, 'I', false));
        assertTrue(w.batchEnded());
        AutocommitWrapping fresh = new AutocommitWrapping(() -> false, () -> false);
        assertEquals(ExecuteAction.RELAY, fresh.execute(StatementKind.OTHER, Reach.GLOBAL_DDL, false, 'I', false));
    }
}
