package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import org.junit.Test;

/** The queries of SQL-level PREPAREs and the EXECUTE of CREATE TABLE AS, for CREATE TABLE ... AS EXECUTE. */
public class PreparedQueriesTest {
    private static PreparedQueries.Prepared prepared(String s) {
        return PreparedQueries.prepared(s, true);
    }

    @Test
    public void thePrepareStatementsNameAndQuery() {
        assertEquals(new PreparedQueries.Prepared("select1", "SELECT 1 as a", "PREPARE select1 AS SELECT 1 as a"), prepared("PREPARE select1 AS SELECT 1 as a;"));
        assertEquals(new PreparedQueries.Prepared("p", "select $1 + $2 /* sum */ from t where s = ';'",
                        "prepare p (int, numeric(10, 2)) as select $1 + $2 /* sum */ from t where s = ';'"),
                prepared("prepare p (int, numeric(10, 2)) as select $1 + $2 /* sum */ from t where s = ';' -- c"));
        assertEquals(new PreparedQueries.Prepared("Mixed \"Q\"", "VALUES (1)", "PREPARE \"Mixed \"\"Q\"\"\" AS VALUES (1)"), prepared("PREPARE \"Mixed \"\"Q\"\"\" AS VALUES (1)"));
        assertEquals(new PreparedQueries.Prepared("data_sel", "SELECT generate_series(1,3)",
                "PREPARE Data_Sel AS SELECT generate_series(1,3)"),
                prepared("PREPARE Data_Sel AS SELECT generate_series(1,3)"));
        assertNull(prepared("PREPARE TRANSACTION 'x'"));
        assertNull(prepared("PREPARE p AS"));
        assertNull(prepared("SELECT 1"));
    }

    @Test
    public void theExecuteOfCreateTableAs() {
        String s = "EXPLAIN (ANALYZE, COSTS OFF) CREATE TABLE IF NOT EXISTS t (a) AS EXECUTE \"Q\"(1, 'x') WITH NO DATA";
        PreparedQueries.Executed e = PreparedQueries.executed(s, true);
        assertEquals("Q", e.name());
        assertEquals("EXPLAIN (ANALYZE, COSTS OFF) CREATE TABLE IF NOT EXISTS t (a) AS EXECUTE mtm_ctas_execute(1, 'x') WITH NO DATA",
                e.renamed(s));
        s = "create table parallel_write as execute Prep_Stmt";
        e = PreparedQueries.executed(s, true);
        assertEquals("prep_stmt", e.name());
        assertEquals("create table parallel_write as execute mtm_ctas_execute", e.renamed(s));
        assertNull(PreparedQueries.executed("CREATE TABLE t AS SELECT 'as execute q'", true));
        assertNull(PreparedQueries.executed("CREATE TABLE t AS SELECT 1", true));
    }

    @Test
    public void theSessionsRecordFollowsPrepareAndDeallocate() {
        PreparedQueries q = new PreparedQueries();
        // one query string with several statements: each PREPARE is its own statement for the gateway
        String text = "PREPARE a AS SELECT 1; PREPARE b(int) AS SELECT $1 * 2;";
        for (SqlStatement st : SqlSplitter.split(text, true)) {
            q.relayed(st.text(text), st.reach(), true);
        }
        assertEquals("SELECT 1", q.query("a"));
        assertEquals("SELECT $1 * 2", q.query("b"));
        assertEquals("PREPARE b(int) AS SELECT $1 * 2", q.get("b").statement());
        q.relayed("PREPARE a AS SELECT 3", Replication.Reach.NO_WRITE, true);
        assertEquals("SELECT 3", q.query("a"));
        q.relayed("DEALLOCATE a", Replication.Reach.SESSION, true);
        assertNull(q.query("a"));
        assertEquals("SELECT $1 * 2", q.query("b"));
        q.relayed("DEALLOCATE PREPARE ALL", Replication.Reach.SESSION, true);
        assertNull(q.query("b"));
        q.relayed("PREPARE c AS SELECT 1", Replication.Reach.NO_WRITE, true);
        q.relayed("DISCARD ALL", Replication.Reach.SESSION, true);
        assertNull(q.query("c"));
        q.relayed("PREPARE d AS SELECT 1", Replication.Reach.ROWS, true); // not a PREPARE's class: not looked at
        assertNull(q.query("d"));
    }

    @Test
    public void theRecordIsBounded() {
        PreparedQueries q = new PreparedQueries();
        for (int i = 0; i < PreparedQueries.LIMIT + 10; i++) {
            q.relayed("PREPARE p" + i + " AS SELECT " + i, Replication.Reach.NO_WRITE, true);
        }
        assertEquals(PreparedQueries.LIMIT, q.size());
        assertNull(q.query("p0"));
        assertEquals("SELECT " + (PreparedQueries.LIMIT + 9), q.query("p" + (PreparedQueries.LIMIT + 9)));
    }
}
