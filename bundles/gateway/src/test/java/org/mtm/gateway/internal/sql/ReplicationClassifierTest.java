package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.stream.Collectors;

import org.junit.Test;

/** The replication class of each statement (DESIGN §2 DDL, manual F.31.6.1), table-driven. */
public class ReplicationClassifierTest {

    /** Row: statement, expected {@link Replication#toString()} (REFUSED rows: a fragment of the message). */
    private static final String[][] CASES = {
        // ordinary statements: rows replicate
        {"SELECT 1", "READ"},
        {"select * from t where a = 1", "READ"},
        // READ: what the text shows reads only (an autocommit one runs unwrapped, in a read-only transaction)
        {"SELECT abalance FROM pgbench_accounts WHERE aid = $1", "READ"},
        {"TABLE t", "READ"},
        {"VALUES (1, 'a'), (2, 'b')", "READ"},
        {"(SELECT a FROM t) UNION ALL (SELECT b FROM u)", "READ"},
        {"WITH x AS (SELECT 1 AS a) SELECT count(*), max(a) FROM x WHERE a IN (1, 2) AND EXISTS (SELECT 1)", "READ"},
        {"SELECT CAST(a AS varchar(10)), coalesce(b, 0) FROM t ORDER BY lower(c)", "READ"},
        {"SELECT * FROM t FOR UPDATE", "ROWS"},
        {"SELECT * FROM t FOR SHARE SKIP LOCKED", "ROWS"},
        {"SELECT nextval('s')", "ROWS"},
        {"SELECT my_function(1)", "ROWS"},
        {"SELECT public.count(1)", "READ"},
        {"SELECT \"Count\"(1)", "ROWS"},
        {"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "ROWS"},
        {"SELECT 'nextval(1)' FROM t", "READ"},
        {"SELECT mtm.status()", "STATUS"},
        {"INSERT INTO t SELECT * FROM u", "ROWS"},
        {"WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "ROWS"},
        {"UPDATE t SET a = 1", "ROWS"},
        {"DELETE FROM t", "ROWS"},
        {"MERGE INTO t USING u ON t.a = u.a WHEN MATCHED THEN DELETE", "ROWS"},
        {"TRUNCATE t", "ROWS"},
        {"COPY t FROM STDIN", "ROWS"},
        {"LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "ROWS"},
        {"CALL p()", "ROWS"},
        {"DO $$BEGIN CREATE TABLE x(); END$$", "ROWS"},
        {"EXECUTE q(1)", "ROWS"},
        {"SELECT 'CREATE TABLE x()'", "READ"},
        {"SELECT a AS into_x FROM t", "READ"},
        {"SELECT (SELECT 1 INTO x)", "ROWS"},
        // session state only (allowed while the node is not online); cannot write
        {"SHOW work_mem", "SESSION"},
        {"SET search_path = s, public", "SESSION"},
        {"RESET ALL", "SESSION"},
        {"EXPLAIN SELECT * FROM t", "NO_WRITE"},
        {"EXPLAIN (FORMAT JSON) INSERT INTO t VALUES (1)", "NO_WRITE"},
        {"EXPLAIN (ANALYZE false) INSERT INTO t VALUES (1)", "NO_WRITE"},
        {"DEALLOCATE ALL", "SESSION"},
        {"DISCARD ALL", "SESSION"},
        {"PREPARE q AS INSERT INTO t VALUES ($1)", "NO_WRITE"},
        {"FETCH 10 FROM c", "NO_WRITE"},
        {"CLOSE c", "NO_WRITE"},
        // EXPLAIN ANALYZE executes the statement
        {"EXPLAIN ANALYZE INSERT INTO t VALUES (1)", "ROWS"},
        {"EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 2", "ROWS"},
        {"EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1", "GLOBAL_DDL(creates x)"},
        {"EXPLAIN ANALYZE SELECT 1 INTO x", "GLOBAL_DDL(creates x)"},
        // LISTEN / NOTIFY
        {"LISTEN ch", "NOTIFY"},
        {"UNLISTEN *", "NOTIFY"},
        {"NOTIFY ch, 'payload'", "NOTIFY"},
        // local-only (manual F.31.6.1)
        {"ALTER SYSTEM SET work_mem = '8MB'", "LOCAL"},
        {"CREATE DATABASE d", "LOCAL"},
        {"DROP DATABASE IF EXISTS d", "LOCAL"},
        {"REINDEX TABLE t", "LOCAL"},
        {"REINDEX TABLE CONCURRENTLY t", "LOCAL"},
        {"CHECKPOINT", "LOCAL"},
        {"CLUSTER t USING i", "LOCAL"},
        {"LOAD 'auto_explain'", "LOCAL"},
        {"VACUUM (ANALYZE) t", "LOCAL"},
        {"ANALYZE t", "LOCAL"},
        {"analyse", "LOCAL"},
        {"CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p", "LOCAL"},
        {"COMMENT ON SUBSCRIPTION s IS 'x'", "LOCAL"},
        // CREATE TABLE ... (LIKE source): refused when it runs if a source is node-local
        {"CREATE TABLE vistest (LIKE testeoc)", "GLOBAL_DDL(like [testeoc])"},
        {"CREATE TABLE v2 (a int, LIKE s.t INCLUDING ALL, LIKE \"U\")", "GLOBAL_DDL(like [s.t, \"U\"])"},
        {"CREATE TABLE v3 (a text CHECK (a LIKE 'x%'))", "GLOBAL_DDL"},
        // a database: global when it is the session's, local otherwise (asked when the statement runs)
        {"ALTER DATABASE regression_tbd RENAME TO regression_utf8", "GLOBAL_DDL(database regression_tbd)"},
        {"ALTER DATABASE \"My Db\" CONNECTION_LIMIT 123", "GLOBAL_DDL(database My Db)"},
        {"COMMENT ON DATABASE d IS 'x'", "GLOBAL_DDL(database d)"},
        {"GRANT CREATE ON DATABASE d TO u", "GLOBAL_DDL(database d)"},
        {"REVOKE CREATE, CONNECT ON DATABASE d FROM u", "GLOBAL_DDL(database d)"},
        {"GRANT CREATE ON DATABASE d, e TO u", "GLOBAL_DDL"},
        // unlogged tables and sequences are made on every node (their rows are each node's own)
        {"CREATE UNLOGGED TABLE u (a int)", "GLOBAL_DDL"},
        {"create unlogged sequence us", "GLOBAL_DDL"},
        {"SELECT * INTO UNLOGGED u2 FROM t", "GLOBAL_DDL(creates u2)"},
        {"CREATE UNLOGGED TABLE u2 AS SELECT * FROM t", "GLOBAL_DDL(creates u2)"},
        // temporary objects
        {"CREATE TEMP TABLE tt (a int)", "TEMPORARY"},
        {"CREATE TEMPORARY TABLE IF NOT EXISTS tt (a int) ON COMMIT DROP", "TEMPORARY"},
        {"CREATE GLOBAL TEMPORARY TABLE tt (a int)", "TEMPORARY"},
        {"CREATE LOCAL TEMP TABLE tt AS SELECT 1", "TEMPORARY"},
        {"CREATE OR REPLACE TEMP VIEW v AS SELECT 1", "TEMPORARY"},
        {"CREATE TEMP SEQUENCE s", "TEMPORARY"},
        {"CREATE TABLE pg_temp.tt (a int)", "TEMPORARY"},
        {"CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "TEMPORARY"},
        {"SELECT * INTO TEMP tt FROM t", "TEMPORARY"},
        {"SELECT * INTO TEMPORARY TABLE tt FROM t", "TEMPORARY"},
        // global DDL
        {"CREATE TABLE t (id int PRIMARY KEY, v text)", "GLOBAL_DDL"},
        {"create table if not exists t (id int)", "GLOBAL_DDL"},
        {"CREATE TABLE t2 AS SELECT * FROM t", "GLOBAL_DDL(creates t2)"},
        {"create table if not exists app.\"T2\" (a, b) with (fillfactor = 70) as select random(), now() with no data", "GLOBAL_DDL(creates app.\"T2\")"},
        {"CREATE TABLE g (a int GENERATED ALWAYS AS (1) STORED)", "GLOBAL_DDL"},
        {"SELECT * INTO t2 FROM t", "GLOBAL_DDL(creates t2)"},
        {"SELECT a, b INTO TABLE t2 FROM t WHERE a > 1", "GLOBAL_DDL(creates t2)"},
        {"WITH x AS (SELECT 1 AS a) SELECT a INTO t2 FROM x", "GLOBAL_DDL(creates t2)"},
        {"CREATE VIEW v AS SELECT * FROM t", "GLOBAL_DDL"},
        {"CREATE MATERIALIZED VIEW mv AS SELECT 1", "GLOBAL_DDL"},
        {"REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "GLOBAL_DDL"},
        {"CREATE SEQUENCE s", "GLOBAL_DDL"},
        {"CREATE SCHEMA s CREATE TABLE x (a int)", "GLOBAL_DDL"},
        {"CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT 1$$", "GLOBAL_DDL"},
        {"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END", "GLOBAL_DDL"},
        {"CREATE TYPE mood AS ENUM ('sad', 'ok')", "GLOBAL_DDL"},
        {"CREATE EXTENSION pgcrypto", "GLOBAL_DDL"},
        {"CREATE ROLE r LOGIN", "GLOBAL_DDL"},
        {"CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()", "GLOBAL_DDL"},
        {"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO r", "GLOBAL_DDL"},
        {"ALTER ROLE r SET work_mem = '8MB'", "GLOBAL_DDL"},
        {"ALTER DATABASE mydb SET default_tablespace = ''", "GLOBAL_DDL(database mydb)"},
        {"ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b", "GLOBAL_DDL"},
        {"ALTER TABLE u SET LOGGED", "GLOBAL_DDL[u]"},
        {"alter table if exists only t set unlogged", "GLOBAL_DDL[t]"},
        {"ALTER SEQUENCE s SET LOGGED", "GLOBAL_DDL[s]"},
        {"ALTER TABLE t SET (fillfactor = 70)", "GLOBAL_DDL[t]"},
        {"ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY", "REFUSED(0A000: [multimaster] ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY"},
        {"ALTER TABLE p DETACH PARTITION p1", "GLOBAL_DDL[p]"},
        {"ALTER TABLE p DETACH PARTITION p1 FINALIZE", "GLOBAL_DDL[p]"},
        {"ALTER TABLE zz SET SCHEMA pg_catalog", "REFUSED(0A000: [multimaster] ALTER ... SET SCHEMA pg_catalog"},
        {"alter sequence s set schema information_schema", "REFUSED(0A000: [multimaster] ALTER ... SET SCHEMA information_schema"},
        {"ALTER FUNCTION f(int) SET SCHEMA mtm", "REFUSED(0A000: [multimaster] ALTER ... SET SCHEMA mtm"},
        {"ALTER TYPE ty SET SCHEMA \"pg_catalog\"", "REFUSED(0A000: [multimaster] ALTER ... SET SCHEMA pg_catalog"},
        {"ALTER TABLE zz SET SCHEMA app", "GLOBAL_DDL[zz]"},
        {"SECURITY LABEL ON TABLE t IS 'x'", "GLOBAL_DDL"},
        {"IMPORT FOREIGN SCHEMA s FROM SERVER srv INTO public", "GLOBAL_DDL"},
        {"REASSIGN OWNED BY a TO b", "GLOBAL_DDL"},
        {"GRANT r TO u", "GLOBAL_DDL"},
        {"GRANT ALL ON ALL TABLES IN SCHEMA public TO r", "GLOBAL_DDL"},
        {"REVOKE USAGE ON SCHEMA s FROM r", "GLOBAL_DDL"},
        {"COMMENT ON SCHEMA s IS 'x'", "GLOBAL_DDL"},
        {"DROP FUNCTION f()", "GLOBAL_DDL"},
        {"DROP OWNED BY r", "GLOBAL_DDL"},
        // global DDL on named relations: the names go to the catalog check (temporary/unlogged stay local)
        {"DROP TABLE t", "GLOBAL_DDL[t]"},
        {"DROP TABLE IF EXISTS a, s.b, \"C d\" CASCADE", "GLOBAL_DDL[a, s.b, \"C d\"]"},
        {"drop sequence s1", "GLOBAL_DDL[s1]"},
        {"DROP VIEW v", "GLOBAL_DDL[v]"},
        {"DROP MATERIALIZED VIEW IF EXISTS mv", "GLOBAL_DDL[mv]"},
        {"DROP INDEX i", "GLOBAL_DDL[i]"},
        {"ALTER TABLE t ADD COLUMN b int", "GLOBAL_DDL[t]"},
        {"ALTER TABLE IF EXISTS ONLY public.t RENAME TO t2", "GLOBAL_DDL[public.t]"},
        {"ALTER INDEX i RENAME TO j", "GLOBAL_DDL[i]"},
        {"ALTER SEQUENCE s RESTART", "GLOBAL_DDL[s]"},
        {"ALTER MATERIALIZED VIEW mv OWNER TO r", "GLOBAL_DDL[mv]"},
        {"CREATE INDEX ON t (a)", "GLOBAL_DDL[t]"},
        {"CREATE UNIQUE INDEX IF NOT EXISTS i ON ONLY s.t USING btree (a)", "GLOBAL_DDL[s.t]"},
        {"CREATE INDEX i ON t ((lower(v)))", "GLOBAL_DDL[t]"},
        {"CREATE TRIGGER tr BEFORE INSERT OR UPDATE OF a ON t FOR EACH ROW EXECUTE FUNCTION f()", "GLOBAL_DDL[t]"},
        {"CREATE CONSTRAINT TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", "GLOBAL_DDL[t]"},
        {"CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING", "GLOBAL_DDL[t]"},
        {"DROP RULE IF EXISTS r ON s.t CASCADE", "GLOBAL_DDL[s.t]"},
        {"DROP TRIGGER tr ON t", "GLOBAL_DDL[t]"},
        {"DROP POLICY p ON t", "GLOBAL_DDL[t]"},
        {"CREATE POLICY p ON t USING (true)", "GLOBAL_DDL[t]"},
        {"COMMENT ON TABLE t IS 'x'", "GLOBAL_DDL[t]"},
        {"COMMENT ON COLUMN s.t.c IS 'x'", "GLOBAL_DDL[s.t]"},
        {"COMMENT ON CONSTRAINT c ON t IS 'x'", "GLOBAL_DDL[t]"},
        {"GRANT SELECT (a, b), UPDATE ON t, u TO r", "GLOBAL_DDL[t, u]"},
        {"GRANT SELECT ON TABLE t TO r", "GLOBAL_DDL[t]"},
        {"REVOKE ALL ON SEQUENCE s FROM r", "GLOBAL_DDL[s]"},
        // the gateway answers these itself
        {"CREATE EXTENSION multimaster", "SURFACE(CREATE EXTENSION multimaster)"},
        {"create extension if not exists \"multimaster\" cascade", "SURFACE(CREATE EXTENSION multimaster)"},
        // refused: cannot run in the cluster's distributed transaction
        {"CREATE INDEX CONCURRENTLY i ON t (a)", "REFUSED(0A000: [multimaster] CREATE INDEX CONCURRENTLY"},
        {"create unique index concurrently i on t (a)", "REFUSED(0A000: [multimaster] CREATE INDEX CONCURRENTLY"},
        {"DROP INDEX CONCURRENTLY IF EXISTS i", "REFUSED(0A000: [multimaster] DROP INDEX CONCURRENTLY"},
        {"CREATE TABLESPACE ts LOCATION '/x'", "REFUSED(0A000: [multimaster] CREATE TABLESPACE"},
        {"DROP TABLESPACE ts", "REFUSED(0A000: [multimaster] DROP TABLESPACE"},
        {"ALTER DATABASE mydb SET TABLESPACE ts", "REFUSED(0A000: [multimaster] ALTER DATABASE ... SET TABLESPACE"},
        {"DROP EXTENSION multimaster", "REFUSED(0A000: [multimaster] DROP EXTENSION multimaster"},
        // an event trigger in replica mode would fire again where the other nodes run the DDL (the appliers)
        {"ALTER EVENT TRIGGER audit ENABLE ALWAYS", "REFUSED(0A000: [multimaster] ALTER EVENT TRIGGER ... ENABLE ALWAYS"},
        {"alter event trigger \"Audit\" enable replica", "REFUSED(0A000: [multimaster] ALTER EVENT TRIGGER ... ENABLE REPLICA"},
        {"ALTER EVENT TRIGGER enable ENABLE ALWAYS", "REFUSED(0A000: [multimaster] ALTER EVENT TRIGGER ... ENABLE ALWAYS"},
        {"ALTER EVENT TRIGGER audit ENABLE", "GLOBAL_DDL"},
        {"ALTER EVENT TRIGGER always DISABLE", "GLOBAL_DDL"},
        {"ALTER EVENT TRIGGER audit OWNER TO r", "GLOBAL_DDL"},
        {"ALTER EVENT TRIGGER replica RENAME TO always", "GLOBAL_DDL"},
        {"CREATE EVENT TRIGGER audit ON ddl_command_end EXECUTE FUNCTION f()", "GLOBAL_DDL"},
        {"DROP EVENT TRIGGER audit", "GLOBAL_DDL"},
        {"CREATE TABLE x AS EXECUTE q(1)", "GLOBAL_DDL(creates x)"},
        {"create table if not exists s.x (a) as execute q with no data", "GLOBAL_DDL(creates s.x)"},
        {"EXPLAIN (ANALYZE, COSTS OFF) CREATE TABLE x AS EXECUTE q", "GLOBAL_DDL(creates x)"},
        {"CREATE TABLE x AS SELECT $1::int", "REFUSED(0A000: [multimaster] a DDL statement with parameters ($1)"},
        {"SELECT $1::int INTO x", "REFUSED(0A000: [multimaster] a DDL statement with parameters ($1)"},
        // setval(): run on every node as text, each restrides; elsewhere refused
        {"SELECT setval('s', 100)", "GLOBAL_DDL(setval)"},
        {"select pg_catalog.setval('public.t_id_seq', 5, true)", "GLOBAL_DDL(setval)"},
        {"SELECT SETVAL (pg_get_serial_sequence('t', 'id'), max(id)) FROM t", "GLOBAL_DDL(setval)"},
        {"SELECT myschema.setval('s', 1)", "ROWS"},
        {"SELECT setval FROM t", "ROWS"},
        {"SELECT 'setval(1)'", "READ"},
        {"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$SELECT setval('s', 1)$$", "GLOBAL_DDL"},
        {"SELECT setval($1, $2)", "REFUSED(0A000: [multimaster] setval() with parameters ($1)"},
        {"INSERT INTO t VALUES (setval('s', 5))", "REFUSED(0A000: [multimaster] setval() inside INSERT is not replicated"},
        {"WITH x AS (SELECT 1) SELECT setval('s', 5)", "REFUSED(0A000: [multimaster] setval() inside WITH is not replicated"},
        {"VALUES (setval('s', 5))", "REFUSED(0A000: [multimaster] setval() inside VALUES is not replicated"},
    };

    @Test
    public void classifiesEveryKindOfStatement() {
        StringBuilder failures = new StringBuilder();
        for (String[] row : CASES) {
            List<SqlStatement> sts = SqlSplitter.split(row[0], true);
            String got = sts.get(0).replication().toString();
            boolean ok = row[1].startsWith("REFUSED") ? got.startsWith(row[1]) : got.equals(row[1]);
            if (sts.size() != 1 || !ok) {
                failures.append(row[0]).append(" -> ").append(got).append(", want ").append(row[1]).append('\n');
            }
        }
        assertEquals("", failures.toString());
    }

    @Test
    public void eachStatementOfAMultiStatementQueryIsClassifiedOnItsOwn() {
        String sql = "CREATE TABLE a (x int); INSERT INTO a VALUES (1); CREATE INDEX ON a (x); SELECT * INTO b FROM a;"
                + " CREATE TEMP TABLE c (y int); LISTEN ch";
        assertEquals("[GLOBAL_DDL, ROWS, GLOBAL_DDL[a], GLOBAL_DDL(creates b), TEMPORARY, NOTIFY]",
                SqlSplitter.split(sql, true).stream().map(st -> st.replication().toString())
                        .collect(Collectors.toList()).toString());
    }

    @Test
    public void theBodyIsTheStatementWithoutLeadingCommentsAndItsSemicolon() {
        String sql = "SELECT 1; /* c */ CREATE TABLE a (x text DEFAULT ';');\n -- x\n DROP TABLE b";
        List<SqlStatement> sts = SqlSplitter.split(sql, true);
        assertEquals("CREATE TABLE a (x text DEFAULT ';')", sts.get(1).body(sql).toString());
        assertEquals("DROP TABLE b", sts.get(2).body(sql).toString());
    }

    @Test
    public void refusalsSayWhatToDoInstead() {
        Replication r = SqlSplitter.classifyOne("CREATE INDEX CONCURRENTLY i ON t (a)", true).replication();
        assertTrue(r.hint(), r.hint().contains("without CONCURRENTLY"));
        r = SqlSplitter.classifyOne("CREATE TABLESPACE ts LOCATION '/x'", true).replication();
        assertTrue(r.hint(), r.hint().contains("mtm_admin"));
        r = SqlSplitter.classifyOne("ALTER EVENT TRIGGER audit ENABLE ALWAYS", true).replication();
        assertTrue(r.hint(), r.hint().startsWith("Use ALTER EVENT TRIGGER ... ENABLE:"));
    }

    @Test
    public void transactionKindsAreUnchangedByTheReplicationClass() {
        assertEquals(StatementKind.NON_TRANSACTIONAL, SqlSplitter.classifyOne("CREATE INDEX CONCURRENTLY i ON t (a)", true).kind());
        assertEquals(StatementKind.OTHER, SqlSplitter.classifyOne("CREATE TABLE t (a int)", true).kind());
        assertEquals(StatementKind.NON_TRANSACTIONAL, SqlSplitter.classifyOne("VACUUM", true).kind());
    }
}
