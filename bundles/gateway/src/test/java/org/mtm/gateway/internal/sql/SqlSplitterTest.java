package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertEquals;
import static org.mtm.gateway.internal.sql.StatementKind.BEGIN;
import static org.mtm.gateway.internal.sql.StatementKind.CALL;
import static org.mtm.gateway.internal.sql.StatementKind.COMMIT;
import static org.mtm.gateway.internal.sql.StatementKind.COMMIT_AND_CHAIN;
import static org.mtm.gateway.internal.sql.StatementKind.COMMIT_PREPARED;
import static org.mtm.gateway.internal.sql.StatementKind.EMPTY;
import static org.mtm.gateway.internal.sql.StatementKind.NON_TRANSACTIONAL;
import static org.mtm.gateway.internal.sql.StatementKind.OTHER;
import static org.mtm.gateway.internal.sql.StatementKind.PREPARE_TRANSACTION;
import static org.mtm.gateway.internal.sql.StatementKind.RELEASE_SAVEPOINT;
import static org.mtm.gateway.internal.sql.StatementKind.ROLLBACK;
import static org.mtm.gateway.internal.sql.StatementKind.ROLLBACK_AND_CHAIN;
import static org.mtm.gateway.internal.sql.StatementKind.ROLLBACK_PREPARED;
import static org.mtm.gateway.internal.sql.StatementKind.ROLLBACK_TO_SAVEPOINT;
import static org.mtm.gateway.internal.sql.StatementKind.SAVEPOINT;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.Test;

public class SqlSplitterTest {

    /** One row: input, expected kinds in order. */
    private record Case(String sql, StatementKind... kinds) { }

    private static Case c(String sql, StatementKind... kinds) {
        return new Case(sql, kinds);
    }

    private static final Case[] KINDS = {
        // transaction control, all spellings
        c("BEGIN", BEGIN),
        c("begin work", BEGIN),
        c("BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY", BEGIN),
        c("start transaction read write", BEGIN),
        c("START", OTHER),
        c("COMMIT", COMMIT),
        c("commit work", COMMIT),
        c("COMMIT TRANSACTION", COMMIT),
        c("COMMIT AND NO CHAIN", COMMIT),
        c("commit and chain", COMMIT_AND_CHAIN),
        c("COMMIT WORK AND CHAIN", COMMIT_AND_CHAIN),
        c("END", COMMIT),
        c("end transaction", COMMIT),
        c("END AND CHAIN", COMMIT_AND_CHAIN),
        c("ROLLBACK", ROLLBACK),
        c("ROLLBACK WORK AND NO CHAIN", ROLLBACK),
        c("rollback and chain", ROLLBACK_AND_CHAIN),
        c("ABORT", ROLLBACK),
        c("abort transaction and chain", ROLLBACK_AND_CHAIN),
        c("ROLLBACK TO SAVEPOINT a", ROLLBACK_TO_SAVEPOINT),
        c("rollback to a", ROLLBACK_TO_SAVEPOINT),
        c("ROLLBACK TRANSACTION TO SAVEPOINT a", ROLLBACK_TO_SAVEPOINT),
        c("SAVEPOINT a", SAVEPOINT),
        c("RELEASE SAVEPOINT a", RELEASE_SAVEPOINT),
        c("release a", RELEASE_SAVEPOINT),
        c("PREPARE TRANSACTION 'x'", PREPARE_TRANSACTION),
        c("PREPARE foo AS SELECT 1", OTHER),
        c("PREPARE foo(int) AS SELECT $1", OTHER),
        c("COMMIT PREPARED 'x'", COMMIT_PREPARED),
        c("ROLLBACK PREPARED 'x'", ROLLBACK_PREPARED),
        c("CALL p(1)", CALL),
        // statements that cannot run inside a transaction block
        c("VACUUM", NON_TRANSACTIONAL),
        c("vacuum (analyze) t", NON_TRANSACTIONAL),
        c("CREATE DATABASE d", NON_TRANSACTIONAL),
        c("DROP DATABASE IF EXISTS d", NON_TRANSACTIONAL),
        c("CREATE INDEX CONCURRENTLY i ON t(a)", NON_TRANSACTIONAL),
        c("CREATE UNIQUE INDEX CONCURRENTLY i ON t(a)", NON_TRANSACTIONAL),
        c("CREATE INDEX i ON t(a)", OTHER),
        c("DROP INDEX CONCURRENTLY i", NON_TRANSACTIONAL),
        c("DROP INDEX i", OTHER),
        c("REINDEX TABLE CONCURRENTLY t", NON_TRANSACTIONAL),
        c("REINDEX (VERBOSE) DATABASE d", NON_TRANSACTIONAL),
        c("REINDEX TABLE t", OTHER),
        c("ALTER SYSTEM SET work_mem = '8MB'", NON_TRANSACTIONAL),
        c("ALTER TABLE t ADD COLUMN b int", OTHER),
        c("CLUSTER", NON_TRANSACTIONAL),
        c("CLUSTER t", OTHER),
        c("DISCARD ALL", NON_TRANSACTIONAL),
        c("CREATE TABLESPACE ts LOCATION '/x'", NON_TRANSACTIONAL),
        // ordinary statements, including ones that contain the keywords elsewhere
        c("SELECT 1", OTHER),
        c("select 'commit'", OTHER),
        c("SELECT \"commit\" FROM t", OTHER),
        c("INSERT INTO t VALUES (1)", OTHER),
        c("DO $$BEGIN PERFORM 1; COMMIT; END$$", OTHER),
        c("\"begin\"", OTHER),
        c("(SELECT 1)", OTHER),
        c("WITH x AS (SELECT 1) SELECT * FROM x", OTHER),
        // splitting
        c("BEGIN; INSERT INTO t VALUES (1); COMMIT;", BEGIN, OTHER, COMMIT),
        c("BEGIN;INSERT INTO t VALUES (1);COMMIT", BEGIN, OTHER, COMMIT),
        c("select 1; select 2", OTHER, OTHER),
        c("SELECT ';'; COMMIT", OTHER, COMMIT),
        c("SELECT 'it''s; fine'; COMMIT", OTHER, COMMIT),
        c("SELECT \"a;b\" FROM t; END", OTHER, COMMIT),
        c("SELECT \"a\"\";b\" FROM t; END", OTHER, COMMIT),
        c("SELECT $$;$$; COMMIT", OTHER, COMMIT),
        c("SELECT $tag$ ; $$ ; $tag$; COMMIT", OTHER, COMMIT),
        c("SELECT $a$ $b$ ; $b$ $a$; COMMIT", OTHER, COMMIT),
        c("SELECT $1; COMMIT", OTHER, COMMIT),
        c("SELECT a$b FROM t; COMMIT", OTHER, COMMIT),
        c("SELECT a$b$ FROM t; COMMIT", OTHER, COMMIT),
        c("SELECT E'\\';'; COMMIT", OTHER, COMMIT),
        c("SELECT e'\\\\'; COMMIT", OTHER, COMMIT),
        c("SELECT U&'d\\0061t;'; COMMIT", OTHER, COMMIT),
        c("SELECT U&\"d;t\"; COMMIT", OTHER, COMMIT),
        c("SELECT B'101', X'1F'; COMMIT", OTHER, COMMIT),
        c("SELECT N'x;y'; COMMIT", OTHER, COMMIT),
        c("-- COMMIT;\nSELECT 1", OTHER),
        c("SELECT 1 -- ; COMMIT\n; END", OTHER, COMMIT),
        c("/* COMMIT; */ SELECT 1", OTHER),
        c("/* a /* nested; */ still comment; */ COMMIT", COMMIT),
        c("SELECT 1 /* ; */ + 2; ROLLBACK", OTHER, ROLLBACK),
        c("SELECT 2 /1; COMMIT", OTHER, COMMIT),
        c("SELECT 4*/**/2; COMMIT", OTHER, COMMIT),
        c("SELECT 1 --\r; COMMIT", OTHER, COMMIT),
        c("SELECT f(1;2); COMMIT", OTHER, COMMIT),
        c("", EMPTY),
        c("   ", EMPTY),
        c("-- only a comment", EMPTY),
        c(";", EMPTY),
        c("; ; COMMIT", EMPTY, EMPTY, COMMIT),
        c("SELECT 1;;SELECT 2", OTHER, EMPTY, OTHER),
        c("COMMIT; -- trailing comment", COMMIT),
        c("COMMIT;\n", COMMIT),
        c("/* leading */ BEGIN", BEGIN),
        c("  \n\t commit  ", COMMIT),
        c("COMMIT/**/AND/**/CHAIN", COMMIT_AND_CHAIN),
        c("END;BEGIN;ABORT", COMMIT, BEGIN, ROLLBACK),
        c("SELECT 1.5e-3; COMMIT", OTHER, COMMIT),
        c("SELECT 'unterminated; COMMIT", OTHER),
        c("SELECT /* unterminated; COMMIT", OTHER),
        c("SELECT $x$ unterminated; COMMIT", OTHER),
        // SQL-standard function bodies: semicolons inside BEGIN ATOMIC ... END do not split
        c("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; COMMIT",
          OTHER, COMMIT),
        c("create or replace procedure p() language sql begin atomic insert into t values (1); "
          + "select case when true then 1 else 2 end; end; commit", OTHER, COMMIT),
        c("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$BEGIN RETURN 1; END$$; COMMIT", OTHER, COMMIT),
        c("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1; SELECT 2'; END", OTHER, COMMIT),
        c("CREATE TABLE begin_atomic(a int); COMMIT", OTHER, COMMIT),
        c("SELECT 1 AS begin; SELECT 2 AS end; COMMIT", OTHER, OTHER, COMMIT),
    };

    @Test
    public void classifiesAndSplits() {
        StringBuilder failures = new StringBuilder();
        for (Case k : KINDS) {
            List<StatementKind> got = SqlSplitter.split(k.sql, true).stream()
                    .map(SqlStatement::kind).collect(Collectors.toList());
            if (!got.equals(Arrays.asList(k.kinds))) {
                failures.append(k.sql).append(" -> ").append(got).append(", want ")
                        .append(Arrays.toString(k.kinds)).append('\n');
            }
        }
        assertEquals("", failures.toString());
    }

    @Test
    public void rangesCoverStatementsIncludingTheirSemicolons() {
        String sql = "BEGIN; INSERT INTO t VALUES (';'); COMMIT; SELECT 1";
        List<SqlStatement> st = SqlSplitter.split(sql, true);
        assertEquals(4, st.size());
        assertEquals("BEGIN;", st.get(0).text(sql).toString());
        assertEquals(" INSERT INTO t VALUES (';');", st.get(1).text(sql).toString());
        assertEquals(" COMMIT;", st.get(2).text(sql).toString());
        assertEquals(" SELECT 1", st.get(3).text(sql).toString());
    }

    /** Row: input, expected kind, expected gid. */
    private static final String[][] GIDS = {
        {"PREPARE TRANSACTION 'MTM-1-2-3'", "PREPARE_TRANSACTION", "MTM-1-2-3"},
        {"prepare transaction 'it''s'", "PREPARE_TRANSACTION", "it's"},
        {"PREPARE TRANSACTION E'MTM\\x2dx'", "PREPARE_TRANSACTION", "MTM-x"},
        {"PREPARE TRANSACTION E'\\115TM-x'", "PREPARE_TRANSACTION", "MTM-x"},
        {"PREPARE TRANSACTION E'\\u004dTM-x'", "PREPARE_TRANSACTION", "MTM-x"},
        {"PREPARE TRANSACTION U&'\\004DTM-x'", "PREPARE_TRANSACTION", "MTM-x"},
        {"PREPARE TRANSACTION $$MTM-x$$", "PREPARE_TRANSACTION", "MTM-x"},
        {"PREPARE TRANSACTION $g$MTM-x$g$", "PREPARE_TRANSACTION", "MTM-x"},
        {"PREPARE TRANSACTION 'MT'\n'M-x'", "PREPARE_TRANSACTION", "MTM-x"},
        {"PREPARE TRANSACTION 'M'\n  'T'\r\n'M'\n'-x'", "PREPARE_TRANSACTION", "MTM-x"},
        {"PREPARE TRANSACTION 'MT' 'M-x'", "PREPARE_TRANSACTION", "MT"},
        {"PREPARE TRANSACTION 'mtm-lower'", "PREPARE_TRANSACTION", "mtm-lower"},
        {"PREPARE TRANSACTION '\u00d0\u00b6'", "PREPARE_TRANSACTION", "\u0436"},
        {"/* x */ COMMIT PREPARED 'g1'", "COMMIT_PREPARED", "g1"},
        {"ROLLBACK PREPARED 'g2' ;", "ROLLBACK_PREPARED", "g2"},
        {"COMMIT", "COMMIT", null},
    };

    @Test
    public void decodesGidLiterals() {
        for (String[] row : GIDS) {
            SqlStatement st = SqlSplitter.classifyOne(row[0], true);
            assertEquals(row[0], row[1], st.kind().name());
            assertEquals(row[0], row[2], st.gid());
        }
    }

    @Test
    public void backslashesEscapeQuotesOnlyWithoutStandardConformingStrings() {
        String sql = "SELECT 'a\\'; COMMIT; SELECT 1'; COMMIT";
        // standard_conforming_strings = on: backslash is an ordinary character, the string ends at a\'
        assertEquals(List.of(OTHER, COMMIT, OTHER),
                SqlSplitter.split(sql, true).stream().map(SqlStatement::kind).collect(Collectors.toList()));
        // off: \' escapes the quote, so the string runs to "1'"
        assertEquals(List.of(OTHER, COMMIT),
                SqlSplitter.split(sql, false).stream().map(SqlStatement::kind).collect(Collectors.toList()));
        assertEquals("it's", SqlSplitter.classifyOne("PREPARE TRANSACTION 'it\\'s'", false).gid());
    }

    @Test
    public void bytesOfUtf8TextSplitLikeTheText() {
        String text = "INSERT INTO t VALUES ('ж;ф'); COMMIT";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        String latin1 = new String(bytes, StandardCharsets.ISO_8859_1);
        List<SqlStatement> st = SqlSplitter.split(latin1, true);
        assertEquals(2, st.size());
        assertEquals(COMMIT, st.get(1).kind());
        assertEquals(bytes.length, st.get(1).end());
    }

    @Test
    public void classifyOneSkipsEmptyStatements() {
        assertEquals(COMMIT, SqlSplitter.classifyOne(" ; COMMIT", true).kind());
        assertEquals(EMPTY, SqlSplitter.classifyOne("  -- nothing", true).kind());
    }
}
