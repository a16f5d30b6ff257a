package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import org.junit.Test;
import org.mtm.gateway.internal.sql.TempStandIns.OnCommit;
import org.mtm.gateway.internal.sql.TempStandIns.Rewrite;

/** CREATE TEMP TABLE rewritten for its node-local stand-in (issue 12). */
public class TempStandInsTest {
    private static final String S = "mtm_temp_42_abc";

    private static Rewrite rw(String sql) {
        return TempStandIns.rewrite(sql, true, S);
    }

    @Test
    public void plainTemporaryTableBecomesUnloggedInTheSessionSchema() {
        Rewrite r = rw("CREATE TEMP TABLE x (i int)");
        assertEquals("CREATE UNLOGGED TABLE \"mtm_temp_42_abc\".x (i int)", r.text());
        assertEquals("\"mtm_temp_42_abc\".x", r.table());
        assertEquals(OnCommit.PRESERVE_ROWS, r.onCommit());
        assertEquals("CREATE UNLOGGED TABLE if not exists \"mtm_temp_42_abc\".\"Odd\" (i int);",
                rw("create global temporary table if not exists pg_temp.\"Odd\" (i int);").text());
        assertEquals("  CREATE UNLOGGED TABLE \"mtm_temp_42_abc\".p PARTITION OF q FOR VALUES IN (1)",
                rw("  CREATE LOCAL TEMP TABLE p PARTITION OF q FOR VALUES IN (1)").text());
    }

    @Test
    public void onCommitClauseIsTakenOutAndRemembered() {
        Rewrite drop = rw("CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT * FROM src WHERE v = 'on commit drop'");
        assertEquals("CREATE UNLOGGED TABLE \"mtm_temp_42_abc\".stage  AS SELECT * FROM src WHERE v = 'on commit drop'",
                drop.text());
        assertEquals(OnCommit.DROP, drop.onCommit());
        Rewrite delete = rw("CREATE TEMP TABLE t (col int CHECK (col > 0)) ON COMMIT DELETE ROWS");
        assertEquals("CREATE UNLOGGED TABLE \"mtm_temp_42_abc\".t (col int CHECK (col > 0)) ", delete.text());
        assertEquals(OnCommit.DELETE_ROWS, delete.onCommit());
        Rewrite preserve = rw("CREATE TEMP TABLE t (a) ON COMMIT PRESERVE ROWS AS SELECT 1");
        assertEquals(OnCommit.PRESERVE_ROWS, preserve.onCommit());
        assertEquals("CREATE UNLOGGED TABLE \"mtm_temp_42_abc\".t (a)  AS SELECT 1", preserve.text());
    }

    @Test
    public void temporarySequenceBecomesUnlogged() {
        Rewrite r = rw("CREATE TEMP SEQUENCE s START 10 INCREMENT 2");
        assertEquals("CREATE UNLOGGED SEQUENCE \"mtm_temp_42_abc\".s START 10 INCREMENT 2", r.text());
        assertEquals(OnCommit.PRESERVE_ROWS, r.onCommit());
    }

    @Test
    public void temporaryViewBecomesAViewInTheSessionSchema() {
        Rewrite r = rw("create or replace temp recursive view pg_temp.v (n) AS VALUES (1) UNION ALL SELECT n + 1 FROM v");
        assertEquals("CREATE OR REPLACE RECURSIVE VIEW \"mtm_temp_42_abc\".v (n) AS VALUES (1) UNION ALL SELECT n + 1 FROM v",
                r.text());
        assertTrue(r.view());
        assertEquals("CREATE VIEW \"mtm_temp_42_abc\".v AS SELECT * FROM stage", rw("CREATE TEMP VIEW v AS SELECT * FROM stage").text());
        assertNull(rw("CREATE OR REPLACE TEMP TABLE t (i int)"));
    }

    @Test
    public void otherStatementsAreNotStandIns() {
        assertNull(rw("CREATE TABLE x (i int)"));
        assertNull(rw("CREATE UNLOGGED TABLE x (i int)"));
        assertNull(rw("CREATE TEMP TABLE public.x (i int)")); // PostgreSQL's own error
        assertNull(rw("CREATE UNLOGGED TABLE pg_temp.x (i int)")); // PostgreSQL's own error
        assertNull(rw("CREATE TABLE other.x (i int)"));
        assertFalse(TempStandIns.creates("SELECT 1 INTO TEMP x", true));
        assertTrue(TempStandIns.creates("create temp table x as select 1", true));
    }

    @Test
    public void objectsCreatedInPgTempWithoutTempAreStandInsToo() {
        // PostgreSQL makes a relation created in pg_temp temporary
        Rewrite table = rw("CREATE TABLE pg_temp.x (i int) ON COMMIT DELETE ROWS");
        assertEquals("CREATE UNLOGGED TABLE \"mtm_temp_42_abc\".x (i int) ", table.text());
        assertEquals(OnCommit.DELETE_ROWS, table.onCommit());
        assertEquals("x", table.resolved());
        assertEquals("CREATE UNLOGGED SEQUENCE \"mtm_temp_42_abc\".\"Seq\"", rw("create sequence PG_TEMP.\"Seq\"").text());
        assertEquals("Seq", rw("create sequence PG_TEMP.\"Seq\"").resolved());
        Rewrite view = rw("CREATE OR REPLACE VIEW pg_temp.v AS SELECT 1");
        assertEquals("CREATE OR REPLACE VIEW \"mtm_temp_42_abc\".v AS SELECT 1", view.text());
        assertTrue(view.view());
        // the stand-in schema itself, as qualify leaves a CREATE's name
        assertEquals("CREATE UNLOGGED TABLE \"mtm_temp_42_abc\".x (i int)", rw("CREATE TABLE \"mtm_temp_42_abc\".x (i int)").text());
        assertNull(rw("CREATE TABLE pg_temp_3.x (i int)"));
    }

    @Test
    public void pgTempNamesOfStandInsGoToTheirSchema() {
        Set<String> names = Set.of("x", "Odd");
        assertEquals("SELECT * FROM \"mtm_temp_42_abc\".x JOIN \"mtm_temp_42_abc\".\"Odd\" USING (i)",
                TempStandIns.qualify("SELECT * FROM pg_temp.x JOIN PG_TEMP.\"Odd\" USING (i)", true, S, names));
        assertEquals("INSERT INTO \"mtm_temp_42_abc\".x VALUES (pg_temp.f(1))",
                TempStandIns.qualify("INSERT INTO pg_temp.x VALUES (pg_temp.f(1))", true, S, names));
        // not: other temporary objects, names in strings and comments, a stand-in's own CREATE
        assertNull(TempStandIns.qualify("SELECT pg_temp.f(1), 'pg_temp.x' /* pg_temp.x */", true, S, names));
        assertNull(TempStandIns.qualify("SELECT * FROM x", true, S, names));
        assertNull(TempStandIns.qualify("SELECT * FROM pg_temp.x", true, S, Set.of()));
        assertEquals("CREATE TEMP TABLE IF NOT EXISTS pg_temp.x AS SELECT * FROM \"mtm_temp_42_abc\".x",
                TempStandIns.qualify("CREATE TEMP TABLE IF NOT EXISTS pg_temp.x AS SELECT * FROM pg_temp.x", true, S, names));
        assertEquals("DROP TABLE \"mtm_temp_42_abc\".x", TempStandIns.qualify("DROP TABLE pg_temp.x", true, S, names));
        // a CREATE whose own name is unqualified: the first pg_temp name is the query's, qualified as any other
        assertEquals("CREATE TEMP TABLE y AS SELECT * FROM \"mtm_temp_42_abc\".x",
                TempStandIns.qualify("CREATE TEMP TABLE y AS SELECT * FROM pg_temp.x", true, S, names));
        assertEquals("CREATE TEMP VIEW v AS SELECT * FROM \"mtm_temp_42_abc\".x JOIN \"mtm_temp_42_abc\".\"Odd\" USING (i)",
                TempStandIns.qualify("CREATE TEMP VIEW v AS SELECT * FROM pg_temp.x JOIN pg_temp.\"Odd\" USING (i)", true, S, names));
        // a relation's name in a string where it is read as regclass
        assertEquals("SELECT nextval('\"mtm_temp_42_abc\".x'), '\"mtm_temp_42_abc\".\"Odd\"'::regclass, pg_temp.y",
                TempStandIns.qualify("SELECT nextval('pg_temp.x'), 'pg_temp.\"Odd\"'::regclass, pg_temp.y", true, S, names));
        assertNull(TempStandIns.qualify("INSERT INTO notes VALUES ('pg_temp.x'), (upper('pg_temp.x'))", true, S, names));
    }

    @Test
    public void pgMyTempSchemaIsTheStandInSchema() {
        String oid = "('\"mtm_temp_42_abc\"'::pg_catalog.regnamespace::pg_catalog.oid)";
        // json.sql/jsonb.sql of PostgreSQL's regression suite: the statistics of a temporary table, found by schema
        assertEquals("SELECT attname FROM pg_stats WHERE tablename = 'rows' AND schemaname = " + oid + "::regnamespace::text",
                TempStandIns.qualify("SELECT attname FROM pg_stats WHERE tablename = 'rows' AND schemaname = "
                        + "pg_my_temp_schema()::regnamespace::text", true, S, Set.of("rows")));
        // with no stand-in left (dropped) the session's temporary schema is still the stand-in schema, as in PostgreSQL
        assertEquals("SELECT " + oid + " <> 0, " + oid,
                TempStandIns.qualify("SELECT pg_my_temp_schema() <> 0, PG_CATALOG . pg_my_temp_schema ( )", true, S, Set.of()));
        // not: another schema's function of that name, a column, a string, a comment
        assertNull(TempStandIns.qualify("SELECT s.pg_my_temp_schema(), t.pg_my_temp_schema, 'pg_my_temp_schema()' "
                + "/* pg_my_temp_schema() */", true, S, Set.of("x")));
        assertNull(TempStandIns.qualify("SELECT x.pg_catalog.pg_my_temp_schema()", true, S, Set.of("x")));
    }

    @Test
    public void aViewWhoseQueryReadsAStandInIsACandidateTemporaryView() {
        Set<String> names = Set.of("kept", "other");
        TempStandIns.ImplicitView v = TempStandIns.implicitlyTemporary(
                "CREATE OR REPLACE VIEW v (a) AS SELECT k.id AS kept FROM base b JOIN kept k USING (id), other", true, names);
        assertEquals("CREATE OR REPLACE TEMP VIEW v (a) AS SELECT k.id AS kept FROM base b JOIN kept k USING (id), other", v.text());
        assertEquals("v", v.name());
        assertEquals(java.util.List.of("kept", "other"), v.matched());
        assertEquals("CREATE TEMP RECURSIVE VIEW s.\"V\" AS SELECT * FROM ONLY public.kept",
                TempStandIns.implicitlyTemporary("CREATE RECURSIVE VIEW s.\"V\" AS SELECT * FROM ONLY public.kept", true, names).text());
        assertEquals("V", TempStandIns.implicitlyTemporary("CREATE VIEW s.\"V\" AS SELECT * FROM kept", true, names).name());
        assertEquals(java.util.List.of("kept"), TempStandIns.implicitlyTemporary(
                "CREATE VIEW v AS SELECT 1 FROM base WHERE id IN (SELECT id FROM x, kept)", true, names).matched());
        // the name only as a column, an alias or in a string; other statements
        assertNull(TempStandIns.implicitlyTemporary("CREATE VIEW v AS SELECT 1 AS kept, b.kept, 'kept' FROM base b", true, names));
        assertNull(TempStandIns.implicitlyTemporary("CREATE VIEW v AS SELECT * FROM base kept", true, names));
        assertNull(TempStandIns.implicitlyTemporary("CREATE TABLE v AS SELECT * FROM kept", true, names));
        assertNull(TempStandIns.implicitlyTemporary("CREATE VIEW v AS SELECT * FROM kept", true, Set.of()));
        assertTrue(TempStandIns.readsStandInSql("mtm_temp_1_a", java.util.List.of("kept", "o'x")).contains(
                "unnest(ARRAY['kept', 'o''x']::pg_catalog.text[])"));
    }

    @Test
    public void discardTempAndAllDropThem() {
        assertTrue(TempStandIns.discards("DISCARD TEMP", true));
        assertTrue(TempStandIns.discards("discard temporary;", true));
        assertTrue(TempStandIns.discards("DISCARD ALL", true));
        assertFalse(TempStandIns.discards("DISCARD PLANS", true));
    }

    @Test
    public void statementsThatSetSearchPath() {
        assertEquals(1, TempStandIns.setsSearchPath("SET search_path = a, b", true));
        assertEquals(1, TempStandIns.setsSearchPath("set session SEARCH_PATH to default", true));
        assertEquals(2, TempStandIns.setsSearchPath("SET LOCAL search_path = a", true));
        assertEquals(1, TempStandIns.setsSearchPath("RESET search_path", true));
        assertEquals(1, TempStandIns.setsSearchPath("RESET ALL", true));
        assertEquals(0, TempStandIns.setsSearchPath("SET work_mem = '1MB'", true));
        assertEquals(0, TempStandIns.setsSearchPath("SHOW search_path", true));
    }

    @Test
    public void onCommitActionsSkipTablesThatAreGone() {
        Map<String, OnCommit> m = new LinkedHashMap<>();
        m.put("\"s\".a", OnCommit.DROP);
        m.put("\"s\".b", OnCommit.DELETE_ROWS);
        String sql = TempStandIns.onCommitSql(m);
        assertTrue(sql, sql.contains("IF pg_catalog.to_regclass('\"s\".a') IS NOT NULL THEN EXECUTE 'DROP TABLE ' || '\"s\".a' || ' CASCADE';"));
        assertTrue(sql, sql.contains("FROM pg_catalog.unnest(ARRAY['\"s\".b']::pg_catalog.text[]) AS n "
            + "JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(n) WHERE c.relkind <> 'p'; "));
        assertTrue(sql, sql.contains("MESSAGE = 'unsupported ON COMMIT and foreign key combination'"));
        assertTrue(sql, sql.contains("IF t IS NOT NULL THEN EXECUTE 'TRUNCATE ONLY ' || t;"));
    }
}
