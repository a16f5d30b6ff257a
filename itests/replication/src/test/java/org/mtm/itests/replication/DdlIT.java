package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.ClusterInvariants;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.PgTools;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;
import org.mtm.itests.harness.regress.NodeComparison;

/**
 * DDL through the gateways (DESIGN §2 "DDL", manual F.31.6.1): global statements run once on every node inside the
 * same distributed transaction — also inside multi-statement queries, and with the session's search_path and role;
 * local-only statements, temporary and unlogged tables stay on their node; statements the cluster cannot run get a
 * clear error; TRUNCATE and mtm.make_table_local are cluster-wide. Every check looks at each node's own PostgreSQL
 * right after the statement returned (commits are synchronous), and the class ends with the cluster invariants.
 */
public class DdlIT {
    private static final String WHO = "DdlIT";
    private static final Duration PSQL = Duration.ofSeconds(60);
    /** A commit on an idle 3-node cluster takes milliseconds; this bound only separates "slow" from "hangs". */
    private static final Duration COMMIT_BOUND = Duration.ofSeconds(20);
    private static TestCluster cluster;

    @BeforeClass
    public static void cluster() {
        cluster = TestCluster.initialised("ddl");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    @Test
    public void multiStatementSimpleQueryMixingDdlAndDml() throws SQLException {
        // one simple Query message: psql -c sends it as is
        String query = "CREATE TABLE ms (id int PRIMARY KEY, v text); INSERT INTO ms VALUES (1, 'a'), (2, 'b'); "
            + "ALTER TABLE ms ADD COLUMN w int DEFAULT 7; UPDATE ms SET w = w + id; "
            + "CREATE TABLE ms_copy AS SELECT g AS id, 'g' || g AS v FROM generate_series(1, 10) g; "
            + "CREATE INDEX ms_v ON ms (v); INSERT INTO ms (id, v) VALUES (3, 'c')";
        PgTools.Result r = PgTools.psql(cluster.gateway(2), null, PSQL, "-c", query);
        assertTrue("multi-statement query through gateway 2: " + r, r.ok());
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int port = cluster.postgres(id);
            assertEquals("ms rows on node" + id, "1:a:8,2:b:9,3:c:7",
                Sql.scalar(port, "SELECT string_agg(id || ':' || v || ':' || w, ',' ORDER BY id) FROM ms"));
            // CREATE TABLE AS ran once per node and its rows were not applied again on top
            assertEquals("ms_copy rows on node" + id, "10", Sql.scalar(port, "SELECT count(*) FROM ms_copy"));
            assertEquals("columns of ms on node" + id, "id,v,w", Sql.scalar(port,
                "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'ms'::regclass AND attnum > 0 AND NOT attisdropped"));
            assertEquals("index ms_v on node" + id, "1", Sql.scalar(port, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ms_v'"));
        }

        // the same through pgjdbc, which sends the statements of one string as a pipeline of extended-protocol messages
        try (Connection c = cluster.viaGateway(3); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE ms_jdbc (id int PRIMARY KEY); INSERT INTO ms_jdbc SELECT generate_series(1, 5); "
                + "ALTER TABLE ms_jdbc ADD COLUMN flag boolean DEFAULT true; DELETE FROM ms_jdbc WHERE id = 5");
        }
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertEquals("ms_jdbc on node" + id, "4:4", Sql.scalar(cluster.postgres(id),
                "SELECT count(*) || ':' || count(*) FILTER (WHERE flag) FROM ms_jdbc"));
        }
    }

    @Test
    public void ddlRolledBackIsNowhere() throws SQLException {
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("CREATE TABLE never_created (id int PRIMARY KEY)");
            st.execute("INSERT INTO never_created VALUES (1)");
            c.rollback();
            c.setAutoCommit(true);
        }
        assertEverywhere("to_regclass('never_created') IS NULL", "t");
    }

    @Test
    public void sessionSearchPathAndRoleHonouredOnPeers() throws SQLException {
        // a role made through the gateway exists on every node (global DDL)
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            st.execute("CREATE ROLE app_owner NOLOGIN");
            st.execute("CREATE SCHEMA app");
            st.execute("GRANT USAGE, CREATE ON SCHEMA app TO app_owner");
        }
        assertEverywhere("(SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner')", "1");

        // psql session on gateway 3: unqualified names resolved with the session's search_path, objects owned by the set role
        String script = "SET search_path = app, public;\n"
            + "CREATE TABLE items (id int PRIMARY KEY, name text);\n"
            + "INSERT INTO items VALUES (1, 'first');\n"
            + "SET ROLE app_owner;\n"
            + "CREATE TABLE owned (id int PRIMARY KEY);\n"
            + "INSERT INTO owned VALUES (42);\n"
            + "BEGIN;\n"
            + "SET LOCAL search_path = public;\n"
            + "RESET ROLE;\n"
            + "CREATE TABLE in_public (id int PRIMARY KEY);\n"
            + "COMMIT;\n";
        PgTools.Result r = PgTools.psql(cluster.gateway(3), script, PSQL);
        assertTrue("session script through gateway 3: " + r, r.ok());
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int port = cluster.postgres(id);
            assertEquals("app.items on node" + id, "1:first", Sql.scalar(port, "SELECT string_agg(id || ':' || name, ',') FROM app.items"));
            assertEquals("no public.items on node" + id, "t", Sql.scalar(port, "SELECT to_regclass('public.items') IS NULL"));
            assertEquals("owner of app.owned on node" + id, "app_owner",
                Sql.scalar(port, "SELECT tableowner FROM pg_tables WHERE schemaname = 'app' AND tablename = 'owned'"));
            assertEquals("app.owned rows on node" + id, "42", Sql.scalar(port, "SELECT string_agg(id::text, ',') FROM app.owned"));
            assertEquals("owner of public.in_public on node" + id, KarafNode.DATABASE_USER,
                Sql.scalar(port, "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'in_public'"));
            assertEquals("no app.in_public on node" + id, "t", Sql.scalar(port, "SELECT to_regclass('app.in_public') IS NULL"));
        }
    }

    @Test
    public void alterTableAddColumnWithDefaultCreateIndexDropTable() throws SQLException {
        try (Connection c = cluster.viaGateway(2); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE evolving (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO evolving SELECT g, 'v' || g FROM generate_series(1, 100) g");
            st.execute("ALTER TABLE evolving ADD COLUMN status text NOT NULL DEFAULT 'new'");
            st.execute("CREATE INDEX evolving_status ON evolving (status)");
            st.execute("CREATE UNIQUE INDEX evolving_v ON evolving (v)");
        }
        try (Connection c = cluster.viaGateway(3); Statement st = c.createStatement()) {
            st.execute("INSERT INTO evolving (id, v) VALUES (101, 'v101')");
            st.execute("UPDATE evolving SET status = 'old' WHERE id <= 10");
        }
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int port = cluster.postgres(id);
            assertEquals("status counts on node" + id, "new:91,old:10",
                Sql.scalar(port, "SELECT string_agg(status || ':' || n, ',' ORDER BY status) FROM (SELECT status, count(*) n FROM evolving GROUP BY status) s"));
            assertEquals("indexes on node" + id, "evolving_pkey,evolving_status,evolving_v",
                Sql.scalar(port, "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'evolving'"));
            assertEquals("column default on node" + id, "'new'::text",
                Sql.scalar(port, "SELECT column_default FROM information_schema.columns WHERE table_name = 'evolving' AND column_name = 'status'"));
        }
        // the unique index works on every node: a duplicate through node 1 fails
        SQLException duplicate = expectFailure(() -> Sql.execute(cluster.gateway(1), "INSERT INTO evolving (id, v) VALUES (102, 'v1')"));
        assertEquals("23505", duplicate.getSQLState());

        Sql.execute(cluster.gateway(1), "DROP TABLE evolving");
        assertEverywhere("to_regclass('evolving') IS NULL", "t");
    }

    @Test
    public void temporaryTablesAreNeverReplicated() throws SQLException {
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE scratch (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO scratch SELECT g, 'tmp' FROM generate_series(1, 50) g");
            st.execute("UPDATE scratch SET v = 'tmp2' WHERE id < 10");
            c.setAutoCommit(false);
            st.execute("INSERT INTO scratch VALUES (51, 'in a transaction')");
            c.commit();
            c.setAutoCommit(true);
            assertEquals("51", Sql.scalar(c, "SELECT count(*) FROM scratch"));
            for (int id = 2; id <= TestCluster.NODES; id++) {
                assertEquals("no relation 'scratch' on node" + id, "0",
                    Sql.scalar(cluster.postgres(id), "SELECT count(*) FROM pg_class WHERE relname = 'scratch'"));
            }
        }
    }

    @Test
    public void aPermanentTableLikeATemporaryOneIsMadeOnEveryNode() throws SQLException {
        // the ETL pattern of copy2 (regression suite): the other nodes have no such source, and are given its columns
        // written out; the origin runs the client's statement. A permanent source beside it stays a LIKE.
        Sql.execute(cluster.gateway(2), "CREATE TABLE like_perm (x int NOT NULL, y text)");
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE like_stage (a int NOT NULL, b text COLLATE \"C\", c numeric(10,2), d varchar(5)[],"
                + " e int DEFAULT 7 CHECK (e > 0))");
            st.execute("CREATE TABLE like_made (LIKE like_stage)");
            st.execute("CREATE TABLE public.\"Like Mixed\" (/* LIKE like_stage, */ LIKE pg_temp.like_stage INCLUDING COMPRESSION"
                + " EXCLUDING ALL, f int, LIKE like_perm INCLUDING ALL)");
            SQLException e = expectFailure(() -> st.execute("CREATE TABLE like_refused (LIKE like_stage INCLUDING ALL)"));
            assertEquals("0A000", Sql.sqlState(e));
            assertTrue(e.getMessage(), e.getMessage().contains("(LIKE like_stage INCLUDING CONSTRAINTS) is not supported"));
            e = expectFailure(() -> st.execute("CREATE TABLE like_refused (LIKE like_stage INCLUDING DEFAULTS)"));
            assertTrue(e.getMessage(), e.getMessage().contains("(LIKE like_stage INCLUDING DEFAULTS) is not supported"));
        }
        Sql.execute(cluster.gateway(2), "INSERT INTO like_made VALUES (1, 'x', 1.5, '{ab,cde}', 2)");
        Sql.execute(cluster.gateway(3), "INSERT INTO like_made VALUES (2, NULL, 12345678.25, NULL, NULL)");
        SQLException notNull = expectFailure(() -> Sql.execute(cluster.gateway(3), "INSERT INTO like_made (b) VALUES ('z')"));
        assertEquals("23502", Sql.sqlState(notNull));
        Sql.execute(cluster.gateway(3), "INSERT INTO \"Like Mixed\" VALUES (1, 'b', 2, '{}', 3, 4, 5, 'y')");
        String columns = "SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod) || ':' || attnotnull::text || ':'"
            + " || COALESCE((SELECT collname FROM pg_collation WHERE oid = attcollation AND oid <> 100), ''), ',' ORDER BY attnum)"
            + " FROM pg_attribute WHERE attrelid = '%s'::regclass AND attnum > 0";
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int port = cluster.postgres(id);
            assertEquals("columns of like_made on node" + id, "a:integer:true:,b:text:false:C,c:numeric(10,2):false:,"
                + "d:character varying(5)[]:false:,e:integer:false:", Sql.scalar(port, String.format(columns, "like_made")));
            assertEquals("rows of like_made on node" + id, "1|x|1.50|{ab,cde}|2,2||12345678.25||", Sql.scalar(port,
                "SELECT string_agg(concat_ws('|', a, coalesce(b, ''), c, coalesce(d::text, ''), coalesce(e::text, '')), ','"
                + " ORDER BY a) FROM like_made"));
            assertEquals("no default, no check on node" + id, "0:0", Sql.scalar(port, "SELECT (SELECT count(*) FROM pg_attrdef"
                + " WHERE adrelid = 'like_made'::regclass) || ':' || (SELECT count(*) FROM pg_constraint WHERE conrelid ="
                + " 'like_made'::regclass)"));
            assertEquals("columns of Like Mixed on node" + id, "a:integer:true:,b:text:false:C,c:numeric(10,2):false:,"
                + "d:character varying(5)[]:false:,e:integer:false:,f:integer:false:,x:integer:true:,y:text:false:",
                Sql.scalar(port, String.format(columns, "public.\"Like Mixed\"")));
            assertEquals("rows of Like Mixed on node" + id, "1", Sql.scalar(port, "SELECT count(*) FROM \"Like Mixed\""));
            assertEquals("like_refused on node" + id, "t", Sql.scalar(port, "SELECT to_regclass('like_refused') IS NULL"));
        }
    }

    @Test
    public void aDropOfTemporaryAndPermanentTablesInsideAQueryOfSeveralStatements() throws SQLException {
        // one simple Query message each (psql -c): the other nodes get the DROP without the temporary table, and not
        // the query's other statements, which reach them on their own (DDL messages, rows)
        PgTools.Result r = PgTools.psql(cluster.gateway(2), null, PSQL, "-c", "CREATE TABLE x1 (i int);"
            + " CREATE TEMP TABLE t1 (i int); CREATE TABLE p1 (i int); DROP TABLE t1, p1; INSERT INTO x1 VALUES (1)");
        assertTrue("DROP in the last but one statement, through gateway 2: " + r, r.ok());
        assertEverywhere("(SELECT string_agg(i::text, ',' ORDER BY i) FROM x1)", "1");
        // the DROP first in its query (comments, quoted names, IF EXISTS, CASCADE), in a session holding the temporary table
        r = PgTools.psql(cluster.gateway(3), null, PSQL, "-c", "CREATE TEMP TABLE \"T;2\" (i int); CREATE TABLE p2 (i int)",
            "-c", "DROP TABLE IF EXISTS \"T;2\", /* t; */ public.p2 CASCADE -- x;\n; INSERT INTO x1 VALUES (2)");
        assertTrue("DROP first, through gateway 3: " + r, r.ok());
        assertEverywhere("(SELECT string_agg(i::text, ',' ORDER BY i) FROM x1)", "1,2");
        // in the middle
        Sql.execute(cluster.gateway(1), "CREATE TABLE p3 (i int)");
        r = PgTools.psql(cluster.gateway(1), null, PSQL, "-c", "CREATE TEMP TABLE t4 (i int); INSERT INTO x1 VALUES (3);"
            + " /* a; */ drop table p3, t4 restrict; SELECT 1");
        assertTrue("DROP in the middle, through gateway 1: " + r, r.ok());
        assertEverywhere("(SELECT string_agg(i::text, ',' ORDER BY i) FROM x1)", "1,2,3");
        assertEverywhere("(SELECT count(*) FROM pg_class WHERE relname IN ('p1', 'p2', 'p3', 't1', 'T;2', 't4'))", "0");
        assertEverywhere("(SELECT count(*) FROM pg_prepared_xacts)", "0");
    }

    /**
     * Issue 12: temporary tables inside transactions that also change replicated tables. The gateway creates them as
     * node-local stand-ins (unlogged tables in the session's own schema) that PREPARE TRANSACTION accepts: the
     * issue's two examples commit through 3PC on every node, ON COMMIT DROP / DELETE ROWS act at the commit, DISCARD
     * TEMP drops them; the temporary tables are on the client's node only, invisible to its other sessions, and gone
     * when the session ends.
     */
    @Test
    public void temporaryTablesInsideWritingTransactions() throws Exception {
        // the issue's first example, one simple Query as psql -c sends it
        PgTools.Result r = PgTools.psql(cluster.gateway(1), null, PSQL, "-c",
            "CREATE TABLE tmix (id int PRIMARY KEY, v text); INSERT INTO tmix VALUES (1, 'a'); CREATE TEMP TABLE x (i int);");
        assertTrue("example 1 through gateway 1: " + r, r.ok());
        assertEverywhere("(SELECT string_agg(id || ':' || v, ',') FROM tmix)", "1:a");

        // the ETL pattern of the second example, and ON COMMIT DELETE ROWS, a mix in autocommit, DISCARD TEMP
        String script = "CREATE TABLE tmix_src (id int PRIMARY KEY, v text);\n"
            + "INSERT INTO tmix_src SELECT g, 'v' || g FROM generate_series(1, 20) g;\n"
            + "BEGIN;\n"
            + "CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT id + 100 AS id, upper(v) AS v FROM tmix_src WHERE id % 2 = 0;\n"
            + "INSERT INTO tmix SELECT id, v FROM stage;\n"
            + "COMMIT;\n"
            + "SELECT 'stage after commit: ' || coalesce(to_regclass('stage')::text, 'gone');\n"
            + "CREATE TEMP TABLE batch (id int, v text) ON COMMIT DELETE ROWS;\n"
            + "BEGIN;\n"
            + "INSERT INTO batch VALUES (200, 'b');\n"
            + "INSERT INTO tmix SELECT * FROM batch;\n"
            + "SELECT 'batch rows in the transaction: ' || count(*) FROM batch;\n"
            + "COMMIT;\n"
            + "SELECT 'batch rows after commit: ' || count(*) FROM batch;\n"
            + "CREATE TEMP TABLE kept (id int);\n"
            + "INSERT INTO kept VALUES (300);\n"
            + "INSERT INTO tmix SELECT id, 'kept' FROM kept;\n"
            + "SELECT 'kept rows: ' || count(*) FROM kept;\n"
            + "DISCARD TEMP;\n"
            + "SELECT 'kept after discard: ' || coalesce(to_regclass('kept')::text, 'gone');\n";
        r = PgTools.psql(cluster.gateway(2), script, PSQL, "-t", "-A");
        assertTrue("ETL script through gateway 2: " + r, r.ok());
        for (String line : List.of("stage after commit: gone", "batch rows in the transaction: 1", "batch rows after commit: 0",
                "kept rows: 1", "kept after discard: gone")) {
            assertTrue("psql printed '" + line + "': " + r.stdout(), r.stdout().lines().anyMatch(line::equals));
        }
        assertEverywhere("(SELECT count(*) || ':' || sum(id) FROM tmix)", "13:" + (1 + 1110 + 200 + 300));
        assertEverywhere("(SELECT string_agg(v, ',' ORDER BY id) FROM tmix WHERE id >= 200)", "b,kept");

        // a session of gateway 3 (pgjdbc, extended protocol) holds a temporary table: its node only, its session only
        try (Connection mine = cluster.viaGateway(3); Statement st = mine.createStatement()) {
            st.execute("CREATE TEMP TABLE mine (id int PRIMARY KEY)");
            st.execute("INSERT INTO mine VALUES (400), (401)");
            mine.setAutoCommit(false);
            st.execute("INSERT INTO tmix SELECT id, 'mine' FROM mine");
            st.execute("DELETE FROM mine WHERE id = 401");
            mine.commit();
            mine.setAutoCommit(true);
            assertEquals("400", Sql.scalar(mine, "SELECT string_agg(id::text, ',') FROM mine"));
            try (Connection other = cluster.viaGateway(3)) {
                assertEquals("another session of gateway 3 sees no 'mine'", "t", Sql.scalar(other, "SELECT to_regclass('mine') IS NULL"));
            }
            assertEquals("mine is unlogged on node 3", "u", Sql.scalar(cluster.postgres(3),
                "SELECT string_agg(c.relpersistence::text, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE c.relname = 'mine' AND n.nspname LIKE 'mtm\\_temp\\_%'"));
            for (int id : new int[] {1, 2}) {
                assertEquals("no relation 'mine' on node" + id, "0",
                    Sql.scalar(cluster.postgres(id), "SELECT count(*) FROM pg_class WHERE relname = 'mine'"));
            }
        }
        assertEverywhere("(SELECT string_agg(id::text, ',' ORDER BY id) FROM tmix WHERE v = 'mine')", "400,401");
        // every session above has ended: their stand-in schemas go with them
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int port = cluster.postgres(id);
            Poll.until("node" + id + ": the stand-in schemas of ended sessions are dropped", Duration.ofSeconds(20),
                Duration.ofMillis(200), () -> "0".equals(Sql.scalar(port,
                    "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'mtm\\_temp\\_%'")));
        }
    }

    @Test
    public void unloggedTablesAreOnEveryNodeTheirRowsOnTheirOwn() throws SQLException {
        // the regression run's schema dumps differed by the unlogged tables, which stayed on node 1: now every node
        // has the table (its DDL is replicated) and each node's rows are its own (never decoded)
        try (Connection c = cluster.viaGateway(2); Statement st = c.createStatement()) {
            st.execute("CREATE UNLOGGED TABLE cache_only (id int PRIMARY KEY, v text)");
            // writes have an xid but nothing a peer could decode: they commit on this node alone
            Bounded.within(COMMIT_BOUND, "autocommit INSERT into an unlogged table", c,
                () -> st.execute("INSERT INTO cache_only SELECT g, 'c' FROM generate_series(1, 20) g"));
            c.setAutoCommit(false);
            st.execute("UPDATE cache_only SET v = 'd' WHERE id = 1");
            Bounded.within(COMMIT_BOUND, "COMMIT of a transaction that updated only an unlogged table", c, () -> {
                c.commit();
                return null;
            });
            c.setAutoCommit(true);
            st.execute("CREATE INDEX cache_only_v ON cache_only (v)");
            st.execute("ALTER TABLE cache_only ADD COLUMN w int");
        }
        assertEquals("20:1", Sql.scalar(cluster.postgres(2), "SELECT count(*) || ':' || count(*) FILTER (WHERE v = 'd') FROM cache_only"));
        for (int id : new int[] {1, 3}) {
            assertEquals("cache_only on node" + id + ", empty", "u:0:w", Sql.scalar(cluster.postgres(id),
                "SELECT relpersistence::text || ':' || (SELECT count(*) FROM cache_only) || ':' || (SELECT attname FROM pg_attribute"
                    + " WHERE attrelid = c.oid AND attnum = 3) FROM pg_class c WHERE c.oid = 'cache_only'::regclass"));
        }
        assertEverywhere("(SELECT count(*) FROM pg_indexes WHERE indexname = 'cache_only_v')", "1");
        Sql.execute(cluster.gateway(3), "INSERT INTO cache_only VALUES (1, 'node 3')");
        assertEquals("node 3", Sql.scalar(cluster.postgres(3), "SELECT v FROM cache_only"));

        // SET UNLOGGED runs everywhere (the rows were the same); SET LOGGED of an unlogged table with rows on any node
        // is refused — at the origin, or by the node that has rows, which votes the transaction down
        Sql.execute(cluster.gateway(1), "CREATE TABLE made_unlogged (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "INSERT INTO made_unlogged VALUES (1)");
        Sql.execute(cluster.gateway(1), "ALTER TABLE made_unlogged SET UNLOGGED");
        assertEverywhere("(SELECT relpersistence::text || ':' || (SELECT count(*) FROM made_unlogged) FROM pg_class"
            + " WHERE oid = 'made_unlogged'::regclass)", "u:1");
        SQLException atOrigin = expectFailure(() -> Sql.execute(cluster.gateway(2), "ALTER TABLE cache_only SET LOGGED"));
        SQLException onPeer = expectFailure(() -> Sql.execute(cluster.gateway(1), "ALTER TABLE cache_only SET LOGGED"));
        for (SQLException e : List.of(atOrigin, onPeer)) {
            TestCluster.log(WHO, "SET LOGGED of an unlogged table with rows: %s %s", e.getSQLState(), e.getMessage());
            assertEquals(e.getMessage(), "0A000", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("ALTER TABLE public.cache_only SET LOGGED is not supported"
                + " while the unlogged table has rows on node "));
        }
        assertEverywhere("(SELECT relpersistence FROM pg_class WHERE oid = 'cache_only'::regclass)", "u");
        // empty everywhere: it becomes an ordinary replicated table
        Sql.execute(cluster.gateway(1), "CREATE UNLOGGED TABLE to_log (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(2), "ALTER TABLE to_log SET LOGGED");
        Sql.execute(cluster.gateway(3), "INSERT INTO to_log VALUES (7)");
        assertEverywhere("(SELECT relpersistence::text || ':' || (SELECT string_agg(id::text, ',') FROM to_log) FROM pg_class"
            + " WHERE oid = 'to_log'::regclass)", "p:7");
        // the invariants at the end compare every node's pg_dump --schema-only: the unlogged tables are in all of them
        Sql.execute(cluster.gateway(2), "DELETE FROM cache_only");
        Sql.execute(cluster.gateway(3), "DELETE FROM cache_only");
        Sql.execute(cluster.gateway(1), "DELETE FROM made_unlogged");
        Sql.execute(cluster.gateway(2), "DELETE FROM made_unlogged");
        Sql.execute(cluster.gateway(3), "DELETE FROM made_unlogged");
    }

    @Test
    public void createIndexConcurrentlyIsRefusedNamingTheStatement() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE conc (id int PRIMARY KEY, v text)");
        SQLException refused = expectFailure(() -> Sql.execute(cluster.gateway(3), "CREATE INDEX CONCURRENTLY conc_v ON conc (v)"));
        TestCluster.log(WHO, "CREATE INDEX CONCURRENTLY: %s %s", refused.getSQLState(), refused.getMessage());
        assertEquals("SQLSTATE of CREATE INDEX CONCURRENTLY: " + refused.getMessage(), "0A000", refused.getSQLState());
        assertTrue("the error names the statement: " + refused.getMessage(), refused.getMessage().contains("CREATE INDEX CONCURRENTLY"));
        assertEverywhere("(SELECT count(*) FROM pg_indexes WHERE indexname = 'conc_v')", "0");
        // psql shows the same refusal
        PgTools.Result r = PgTools.psql(cluster.gateway(2), null, PSQL, "-c", "CREATE INDEX CONCURRENTLY conc_v ON conc (v)");
        assertTrue("psql exits with an error: " + r, !r.ok() && r.stderr().contains("CREATE INDEX CONCURRENTLY"));
    }

    @Test
    public void ddlInsideADoBlockIsRefusedOnEveryNodeInsteadOfStayingOnOne() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE migrated (id int PRIMARY KEY)");
        String migration = "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns"
            + " WHERE table_name = 'migrated' AND column_name = 'v') THEN ALTER TABLE migrated ADD COLUMN v text; END IF; END$$";
        for (int id = 1; id <= TestCluster.NODES; id++) {
            int node = id;
            SQLException refused = expectFailure(() -> Sql.execute(cluster.gateway(node), migration));
            assertEquals("SQLSTATE through gateway " + node + ": " + refused.getMessage(), "0A000", refused.getSQLState());
            assertTrue(refused.getMessage(), refused.getMessage().contains("ALTER TABLE public.migrated was not sent to the other nodes"));
        }
        TestCluster.log(WHO, "DDL in a DO block: %s", expectFailure(() -> Sql.execute(cluster.gateway(2), migration)).getMessage());
        assertEverywhere("(SELECT count(*) FROM information_schema.columns WHERE table_name = 'migrated' AND column_name = 'v')", "0");
        SQLException drop = expectFailure(() -> Sql.execute(cluster.gateway(3), "DO $$BEGIN DROP TABLE migrated; END$$"));
        assertEquals("SQLSTATE of DROP in a DO block: " + drop.getMessage(), "0A000", drop.getSQLState());
        assertEverywhere("(SELECT count(*) FROM pg_class WHERE relname = 'migrated')", "1");
        // the same statement on its own is replicated
        Sql.execute(cluster.gateway(2), "ALTER TABLE migrated ADD COLUMN v text");
        assertEverywhere("(SELECT count(*) FROM information_schema.columns WHERE table_name = 'migrated' AND column_name = 'v')", "1");
    }

    @Test
    public void truncateIsReplicated() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE to_empty (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "INSERT INTO to_empty SELECT generate_series(1, 500)");
        assertEverywhere("(SELECT count(*) FROM to_empty)", "500");
        Sql.execute(cluster.gateway(2), "TRUNCATE to_empty");
        assertEverywhere("(SELECT count(*) FROM to_empty)", "0");
        Sql.execute(cluster.gateway(3), "INSERT INTO to_empty VALUES (7)");
        assertEverywhere("(SELECT string_agg(id::text, ',') FROM to_empty)", "7");
    }

    @Test
    public void truncateOfTablesLinkedByAForeignKeyOfAPartitionedTable() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE fk_prim (a int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE fk_part (a int REFERENCES fk_prim) PARTITION BY RANGE (a)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE fk_part_1 PARTITION OF fk_part FOR VALUES FROM (0) TO (100)");
        Sql.execute(cluster.gateway(1), "INSERT INTO fk_prim VALUES (1), (2); INSERT INTO fk_part VALUES (1), (2)");
        // the decoded TRUNCATE lists fk_prim and fk_part_1, not the partitioned fk_part whose key references fk_prim
        Sql.execute(cluster.gateway(2), "TRUNCATE fk_prim, fk_part");
        assertEverywhere("(SELECT count(*) FROM fk_prim) + (SELECT count(*) FROM fk_part)", "0");
    }

    @Test
    public void tablesWithoutPrimaryKeyAreReplicatedRowForRow() throws SQLException {
        // ignore_tables_without_pk = false (the default): such tables are replicated, identified by all their columns
        Sql.execute(cluster.gateway(1), "CREATE TABLE no_pk (a int, t text)");
        Sql.execute(cluster.gateway(1), "INSERT INTO no_pk VALUES (1, 'dup'), (1, 'dup'), (2, 'two')");
        Sql.execute(cluster.gateway(2), "UPDATE no_pk SET t = 'one' WHERE ctid = (SELECT ctid FROM no_pk WHERE a = 1 LIMIT 1)");
        Sql.execute(cluster.gateway(3), "DELETE FROM no_pk WHERE a = 2");
        assertEverywhere("(SELECT string_agg(a || ':' || t, ',' ORDER BY t) FROM no_pk)", "1:dup,1:one");
        assertEverywhere("(SELECT relreplident::text FROM pg_class WHERE oid = 'no_pk'::regclass)", "f");
    }

    @Test
    public void sessionSettingsThatChangeWhatDdlMeansTravelWithIt() throws SQLException {
        // DateStyle decides what '01/02/2020' is when the default is parsed; standard_conforming_strings what '\\' is.
        // Peers run the text with the origin session's values (issue 8: they used their own and stored other defaults)
        // through psql: pgjdbc itself refuses a DateStyle that does not begin with ISO
        PgTools.Result r = PgTools.psql(cluster.gateway(1), "SET DateStyle = 'SQL, DMY';\n"
            + "SET standard_conforming_strings = off;\n"
            + "CREATE TABLE styled (id int PRIMARY KEY, d date DEFAULT '01/02/2020', t text DEFAULT 'a\\\\b');\n", PSQL);
        assertTrue("psql: " + r, r.ok());
        assertEverywhere("(SELECT string_agg(pg_catalog.pg_get_expr(adbin, adrelid), ' | ' ORDER BY adnum) FROM pg_attrdef"
            + " WHERE adrelid = 'styled'::regclass)", "'2020-02-01'::date | 'a\\b'::text");
        Sql.execute(cluster.gateway(2), "INSERT INTO styled (id) VALUES (2)");
        assertEverywhere("(SELECT d || ' ' || t FROM styled WHERE id = 2)", "2020-02-01 a\\b");
    }

    @Test
    public void rowsAnEventTriggerWritesDuringDdlAreOnEveryNode() throws SQLException {
        // a DDL audit log, as the regression suite's event_trigger file keeps one: the trigger fires where the
        // statement is sent; its rows (with that node's sequence values and times) reach the others as rows
        Sql.execute(cluster.gateway(1), "CREATE TABLE ddl_audit (id serial PRIMARY KEY, tag text NOT NULL,"
            + " at timestamptz NOT NULL DEFAULT clock_timestamp())");
        Sql.execute(cluster.gateway(1), "CREATE FUNCTION audit_ddl() RETURNS event_trigger LANGUAGE plpgsql AS"
            + " $f$ BEGIN INSERT INTO public.ddl_audit (tag) VALUES (tg_tag); END $f$");
        Sql.execute(cluster.gateway(1), "CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION audit_ddl()");
        try {
            Sql.execute(cluster.gateway(2), "CREATE TABLE audited (id int PRIMARY KEY)");
            Sql.execute(cluster.gateway(3), "ALTER TABLE audited ADD COLUMN v text");
            String expected = "CREATE TABLE,ALTER TABLE";
            for (int id = 1; id <= TestCluster.NODES; id++) {
                int port = cluster.postgres(id);
                Poll.until("the audit rows on node " + id, java.time.Duration.ofSeconds(30), java.time.Duration.ofMillis(200),
                    () -> Sql.scalar(port, "SELECT string_agg(tag, ',' ORDER BY at) FROM ddl_audit"), expected::equals);
            }
            assertEverywhere("(SELECT md5(string_agg(id || tag || at, ',' ORDER BY id)) FROM ddl_audit)",
                Sql.scalar(cluster.postgres(1), "SELECT md5(string_agg(id || tag || at, ',' ORDER BY id)) FROM ddl_audit"));
        } finally {
            Sql.execute(cluster.gateway(1), "DROP EVENT TRIGGER audit_ddl");
        }
    }

    @Test
    public void aNewColumnEachNodeWouldFillItselfTakesTheOriginsValueOrIsRefused() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE stamped (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE stamped_empty (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "INSERT INTO stamped VALUES (1), (2)");
        // a default of the moment or the session gives the rows already there one value: the origin's, on every node
        // (a missing value on the origin; with a rewrite of the same statement, written into every row)
        Sql.execute(cluster.gateway(2), "ALTER TABLE stamped ADD COLUMN at timestamptz DEFAULT now()");
        Sql.execute(cluster.gateway(3), "ALTER TABLE stamped ADD COLUMN d date NOT NULL DEFAULT CURRENT_DATE,"
            + " ADD COLUMN who text COLLATE \"C\" DEFAULT CURRENT_USER");
        Sql.execute(cluster.gateway(1), "ALTER TABLE stamped ADD COLUMN at2 timestamp(3) DEFAULT localtimestamp,"
            + " ALTER COLUMN id TYPE bigint");
        Sql.execute(cluster.gateway(2), "ALTER TABLE stamped ADD COLUMN k int DEFAULT 5");
        Sql.execute(cluster.gateway(3), "ALTER TABLE stamped ADD COLUMN note text DEFAULT 'x'");
        String stamped = "(SELECT md5(string_agg(id || ':' || at || ':' || d || ':' || who || ':' || at2 || ':' || k || ':'"
            + " || note, ',' ORDER BY id)) FROM stamped)";
        assertEverywhere(stamped, Sql.scalar(cluster.postgres(1), "SELECT " + stamped));
        assertEverywhere("(SELECT count(DISTINCT at) || ':' || count(DISTINCT at2) || ':' || count(*) FILTER (WHERE at IS NULL"
            + " OR at2 IS NULL OR d IS NULL OR who IS NULL) FROM stamped)", "1:1:0");
        assertEverywhere("(SELECT format_type(atttypid, atttypmod) || ' ' || attcollation::regcollation || ' '"
            + " || attnotnull FROM pg_attribute WHERE attrelid = 'stamped'::regclass AND attname = 'who')", "text \"C\" false");
        // a row changed in between keeps its value when a later statement of the transaction alters the table again;
        // an older column given a default of the moment in a statement that rewrites the table keeps its rows' values
        try (Connection c = cluster.viaGateway(2)) {
            c.setAutoCommit(false);
            try (java.sql.Statement st = c.createStatement()) {
                st.execute("ALTER TABLE stamped ADD COLUMN since timestamptz DEFAULT now() - interval '1 day'");
                st.execute("UPDATE stamped SET since = '2001-02-03 04:05:06+00', k = 6 WHERE id = 1");
                st.execute("ALTER TABLE stamped ADD COLUMN later int");
                st.execute("ALTER TABLE stamped ALTER COLUMN k SET DEFAULT extract(epoch FROM now())::int,"
                    + " ALTER COLUMN id TYPE numeric");
            }
            c.commit();
        }
        assertEverywhere("(SELECT string_agg(id || ':' || (since = '2001-02-03 04:05:06+00') || ':' || k, ',' ORDER BY id)"
            + " FROM stamped)", "1:true:6,2:false:5");
        assertEverywhere(stamped.replace("|| note,", "|| note || ':' || since,"),
            Sql.scalar(cluster.postgres(1), "SELECT " + stamped.replace("|| note,", "|| note || ':' || since,")));
        // an immutable default written in the session's date style (PostgreSQL's fast_default: '2016-06-02'::date
        // read back as 06-02-2016 under Postgres, MDY) needs nothing carried
        PgTools.Result r = PgTools.psql(cluster.gateway(3), "SET DateStyle = 'Postgres, MDY';\n"
            + "ALTER TABLE stamped ADD COLUMN c_date date DEFAULT '2016-06-02'::date + 10;\n", PSQL);
        assertTrue("psql through gateway 3: " + r, r.ok() && !r.toString().contains("ERROR"));
        assertEverywhere("(SELECT string_agg(id || ':' || c_date, ',' ORDER BY id) FROM stamped)", "1:2016-06-12,2:2016-06-12");
        // inheritance and partitions: the children's rows take the value too
        Sql.execute(cluster.gateway(1), "CREATE TABLE stamped_parent (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE stamped_child (extra int) INHERITS (stamped_parent)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE stamped_parted (id int PRIMARY KEY) PARTITION BY RANGE (id)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE stamped_part1 PARTITION OF stamped_parted FOR VALUES FROM (0) TO (10)");
        Sql.execute(cluster.gateway(1), "INSERT INTO stamped_child VALUES (1, 1)");
        Sql.execute(cluster.gateway(1), "INSERT INTO stamped_parted VALUES (1), (2)");
        Sql.execute(cluster.gateway(2), "ALTER TABLE stamped_parent ADD COLUMN at timestamptz DEFAULT now()");
        Sql.execute(cluster.gateway(3), "ALTER TABLE stamped_parted ADD COLUMN at timestamptz NOT NULL DEFAULT now()");
        for (String table : List.of("stamped_child", "stamped_parted")) {
            String expression = "(SELECT string_agg(id || ':' || at, ',' ORDER BY id) FROM " + table + ")";
            assertEverywhere(expression, Sql.scalar(cluster.postgres(1), "SELECT " + expression));
        }
        // a generated column of the same statement over such a column: the rows are rewritten, their values carried
        // row by row (the other nodes' UPDATE computes the generated column again)
        Sql.execute(cluster.gateway(2), "ALTER TABLE stamped ADD COLUMN day date DEFAULT CURRENT_DATE,"
            + " ADD COLUMN day_after date GENERATED ALWAYS AS (day + 1) STORED");
        assertEverywhere("(SELECT bool_and(day_after = day + 1) FROM stamped)", "t");
        assertEverywhere("(SELECT string_agg(id || ':' || day, ',' ORDER BY id) FROM stamped)",
            Sql.scalar(cluster.postgres(1), "SELECT string_agg(id || ':' || day, ',' ORDER BY id) FROM stamped"));
        // what stays as it was: an empty table, the hint's way
        Sql.execute(cluster.gateway(3), "ALTER TABLE stamped_empty ADD COLUMN at timestamptz DEFAULT now()");
        Sql.execute(cluster.gateway(3), "ALTER TABLE stamped_empty ADD COLUMN r float8 DEFAULT random(), ADD COLUMN n serial");
        Sql.execute(cluster.gateway(2), "ALTER TABLE stamped ADD COLUMN rnd float8");
        Sql.execute(cluster.gateway(2), "UPDATE stamped SET rnd = random()");
        Sql.execute(cluster.gateway(2), "ALTER TABLE stamped ALTER COLUMN rnd SET DEFAULT random()");
        assertEverywhere("(SELECT md5(string_agg(id || ':' || rnd, ',' ORDER BY id)) FROM stamped)",
            Sql.scalar(cluster.postgres(1), "SELECT md5(string_agg(id || ':' || rnd, ',' ORDER BY id)) FROM stamped"));
        // rewrites that compute the same everywhere: a generated column, a domain's check, beside a serial column
        Sql.execute(cluster.gateway(1), "CREATE DOMAIN positive AS int CHECK (VALUE > 0)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE counted (id serial PRIMARY KEY, a int)");
        Sql.execute(cluster.gateway(1), "INSERT INTO counted (a) VALUES (1), (2)");
        Sql.execute(cluster.gateway(2), "ALTER TABLE counted ADD COLUMN tripled int GENERATED ALWAYS AS (a * 3) STORED");
        Sql.execute(cluster.gateway(2), "ALTER TABLE counted ADD COLUMN p positive");
        Sql.execute(cluster.gateway(2), "ALTER TABLE counted ADD COLUMN q positive DEFAULT 7");
        assertEverywhere("(SELECT string_agg(a || ':' || tripled || ':' || coalesce(p, 0) || ':' || q, ',' ORDER BY a)"
            + " FROM counted)", "1:3:0:7,2:6:0:7");
        // a domain whose default is of the moment
        Sql.execute(cluster.gateway(1), "CREATE DOMAIN stamp AS timestamptz DEFAULT now()");
        Sql.execute(cluster.gateway(3), "ALTER TABLE counted ADD COLUMN at stamp");
        assertEverywhere("(SELECT string_agg(a || ':' || at, ',' ORDER BY a) FROM counted)",
            Sql.scalar(cluster.postgres(1), "SELECT string_agg(a || ':' || at, ',' ORDER BY a) FROM counted"));
    }

    @Test
    public void aNewColumnWithAVolatileDefaultTakesEachRowsValueFromTheOrigin() throws SQLException {
        // the rewrite that gives every row its own value is not decoded: the origin carries each row's values
        Sql.execute(cluster.gateway(1), "CREATE TABLE vol_keyed (id int PRIMARY KEY, v text)");
        Sql.execute(cluster.gateway(1), "INSERT INTO vol_keyed SELECT g, 'v' || g FROM generate_series(1, 300) g");
        Sql.execute(cluster.gateway(2), "ALTER TABLE vol_keyed ADD COLUMN r float8 DEFAULT random()");
        Sql.execute(cluster.gateway(3), "ALTER TABLE vol_keyed ADD COLUMN t timestamptz DEFAULT clock_timestamp()");
        assertSameTable("vol_keyed", 300);
        assertEverywhere("(SELECT count(DISTINCT r) > 250 AND count(DISTINCT t) > 1 FROM vol_keyed)", "t");
        // no key at all, rows alike in every old column; several volatile columns of one statement, a domain's volatile
        // default, beside columns every node fills alike; more rows than one message takes
        Sql.execute(cluster.gateway(1), "CREATE DOMAIN vol_dice AS int DEFAULT (random() * 1000000)::int");
        Sql.execute(cluster.gateway(1), "CREATE TABLE vol_bare AS SELECT g % 7 AS a, 'x'::text AS b, NULL::float8 AS f,"
            + " '2001-02-03 04:05:06+02'::timestamptz AS ts FROM generate_series(1, 60000) g");
        Sql.execute(cluster.gateway(2), "ALTER TABLE vol_bare ADD COLUMN r float8 DEFAULT random(), ADD COLUMN u uuid DEFAULT"
            + " gen_random_uuid(), ADD COLUMN d vol_dice, ADD COLUMN k int DEFAULT 7, ADD COLUMN at timestamptz DEFAULT now(),"
            + " ADD COLUMN bytes bytea DEFAULT decode(md5(random()::text), 'hex'), ADD COLUMN nothing text");
        assertSameTable("vol_bare", 60000);
        assertEverywhere("(SELECT count(DISTINCT u) = 60000 AND count(DISTINCT d) > 1000 AND count(DISTINCT at) = 1"
            + " AND bool_and(k = 7 AND nothing IS NULL) FROM vol_bare)", "t");
        // the session's own output settings change nothing: the rows are found by their text in fixed settings
        PgTools.Result r = PgTools.psql(cluster.gateway(1), "SET TimeZone = 'Asia/Tokyo';\nSET DateStyle = 'SQL, DMY';\n"
            + "SET extra_float_digits = 0;\nSET bytea_output = 'escape';\n"
            + "ALTER TABLE vol_bare ADD COLUMN at2 timestamptz DEFAULT clock_timestamp();\n", PSQL);
        assertTrue("psql through gateway 1: " + r, r.ok() && !r.toString().contains("ERROR"));
        assertSameTable("vol_bare", 60000);
        // the common migration: a surrogate key for a table that has none
        Sql.execute(cluster.gateway(1), "CREATE TABLE vol_surrogate AS SELECT g % 5 AS a FROM generate_series(1, 100) g");
        Sql.execute(cluster.gateway(3), "ALTER TABLE vol_surrogate ADD COLUMN id uuid DEFAULT gen_random_uuid() PRIMARY KEY");
        assertSameTable("vol_surrogate", 100);
        // names to quote, and columns named like the carrying statement's own aliases
        Sql.execute(cluster.gateway(1), "CREATE TABLE \"Vol Odd\" (h int, n int, \"Mixed Case\" text)");
        Sql.execute(cluster.gateway(1), "INSERT INTO \"Vol Odd\" SELECT g % 3, g % 2, 'x' FROM generate_series(1, 20) g");
        Sql.execute(cluster.gateway(2), "ALTER TABLE \"Vol Odd\" ADD COLUMN \"New Col\" float8 DEFAULT random(),"
            + " ADD COLUMN mtm_v int DEFAULT (random() * 1000)::int");
        assertSameTable("\"Vol Odd\"", 20);
        // a partitioned table with rows in two partitions
        Sql.execute(cluster.gateway(1), "CREATE TABLE vol_parted (id int, v text) PARTITION BY RANGE (id)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE vol_part1 PARTITION OF vol_parted FOR VALUES FROM (0) TO (100)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE vol_part2 PARTITION OF vol_parted FOR VALUES FROM (100) TO (200)");
        Sql.execute(cluster.gateway(1), "INSERT INTO vol_parted SELECT g, 'p' FROM generate_series(1, 199) g");
        Sql.execute(cluster.gateway(3), "ALTER TABLE vol_parted ADD COLUMN u uuid DEFAULT gen_random_uuid()");
        assertSameTable("vol_parted", 199);
        // inheritance: the parent's own rows and its child's, whose columns lie otherwise
        Sql.execute(cluster.gateway(1), "CREATE TABLE vol_inh_parent (id int)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE vol_inh_child (extra text) INHERITS (vol_inh_parent)");
        Sql.execute(cluster.gateway(1), "INSERT INTO vol_inh_parent SELECT generate_series(1, 30)");
        Sql.execute(cluster.gateway(1), "INSERT INTO vol_inh_child SELECT g, 'c' || g FROM generate_series(1, 40) g");
        Sql.execute(cluster.gateway(2), "ALTER TABLE vol_inh_parent ADD COLUMN r float8 DEFAULT random()");
        assertSameTable("vol_inh_parent", 70);
        assertSameTable("vol_inh_child", 40);
        // inside a transaction with other writes before and after
        try (Connection c = cluster.viaGateway(2)) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("INSERT INTO vol_keyed (id, v) VALUES (1001, 'new')");
                st.execute("ALTER TABLE vol_keyed ADD COLUMN s uuid DEFAULT gen_random_uuid(), ADD COLUMN w float8"
                    + " DEFAULT random()");
                st.execute("UPDATE vol_keyed SET v = 'changed', w = -1 WHERE id <= 10");
                st.execute("INSERT INTO vol_keyed (id, v) VALUES (1002, 'newer')");
            }
            c.commit();
        }
        assertSameTable("vol_keyed", 302);
        assertEverywhere("(SELECT count(DISTINCT s) || ':' || count(*) FILTER (WHERE w = -1) FROM vol_keyed)", "302:10");
        // row security, forced even on the table's owner: the origin reads every row all the same
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            st.execute("CREATE ROLE vol_owner NOLOGIN");
            st.execute("CREATE TABLE vol_secured (id int PRIMARY KEY)");
            st.execute("INSERT INTO vol_secured SELECT generate_series(1, 50)");
            st.execute("ALTER TABLE vol_secured OWNER TO vol_owner");
            st.execute("ALTER TABLE vol_secured ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY");
            st.execute("CREATE POLICY vol_none ON vol_secured USING (false)");
        }
        try (Connection c = cluster.viaGateway(3); Statement st = c.createStatement()) {
            st.execute("SET ROLE vol_owner");
            st.execute("ALTER TABLE vol_secured ADD COLUMN r float8 DEFAULT random()");
        }
        assertSameTable("vol_secured", 50);
    }

    /**
     * ADD COLUMN of an identity column or serial on a table with rows: each node numbers the rows already there from
     * its own copy of the new sequence, in its own physical row order. The origin numbers them as PostgreSQL does and
     * carries each row's number; the others take it (an ALWAYS column switched to BY DEFAULT for that and back), and
     * every node's sequence goes on above the rows' numbers. Refused (0A000) before session 27.
     */
    @Test
    public void anIdentityOrSerialColumnAddedToATableWithRowsTakesTheOriginsNumbers() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE num_keyed (id int PRIMARY KEY, v text)");
        Sql.execute(cluster.gateway(1), "CREATE INDEX num_keyed_v ON num_keyed (v)");
        Sql.execute(cluster.gateway(1), "INSERT INTO num_keyed SELECT g, 'v' || g FROM generate_series(1, 200) g");
        // node 2 holds the same rows in another physical order (v's text order: v1, v10, v100...), as it may after its
        // own upkeep: numbered by itself, its rows would take other numbers
        Sql.execute(cluster.postgres(2), "CLUSTER num_keyed USING num_keyed_v");
        Sql.execute(cluster.postgres(2), "ALTER TABLE num_keyed SET WITHOUT CLUSTER");
        Sql.execute(cluster.gateway(2), "ALTER TABLE num_keyed ADD COLUMN n int GENERATED BY DEFAULT AS IDENTITY");
        Sql.execute(cluster.gateway(3), "ALTER TABLE num_keyed ADD COLUMN a bigint GENERATED ALWAYS AS IDENTITY"
            + " (START WITH 1000 INCREMENT BY 10)");
        assertSameTable("num_keyed", 200);
        assertEverywhere("(SELECT count(DISTINCT n) || ':' || min(n) || ':' || max(n) || ':' || count(DISTINCT a) || ':'"
            + " || min(a) || ':' || max(a) FROM num_keyed)", "200:1:200:200:1000:2990");
        // no key, rows alike in every old column; two sequences in one statement; BY DEFAULT then ALWAYS in one statement
        // (the regression file identity)
        Sql.execute(cluster.gateway(1), "CREATE TABLE num_bare AS SELECT g % 3 AS k FROM generate_series(1, 90) g");
        Sql.execute(cluster.gateway(2), "ALTER TABLE num_bare ADD COLUMN s serial, ADD COLUMN b bigserial");
        Sql.execute(cluster.gateway(3), "ALTER TABLE num_bare ADD COLUMN i int GENERATED BY DEFAULT AS IDENTITY,"
            + " ALTER COLUMN i SET GENERATED ALWAYS");
        assertSameTable("num_bare", 90);
        assertEverywhere("(SELECT count(DISTINCT s) || ':' || max(s) || ':' || count(DISTINCT b) || ':' || count(DISTINCT i)"
            + " FROM num_bare)", "90:90:90:90");
        assertEverywhere("(SELECT string_agg(attname || '=' || attidentity::text, ',' ORDER BY attnum) FROM pg_attribute"
            + " WHERE attrelid = 'num_bare'::regclass AND attnum > 0)", "k=,s=,b=,i=a");
        // the common migration: a surrogate key for a table that has none (the other nodes' rows numbered in another
        // order meet the origin's numbers under the new unique index: moved out of the way first), a unique serial
        Sql.execute(cluster.gateway(1), "CREATE TABLE num_surrogate AS SELECT g % 5 AS k, 'v' || g AS v FROM"
            + " generate_series(1, 120) g");
        Sql.execute(cluster.gateway(1), "CREATE INDEX num_surrogate_v ON num_surrogate (v)");
        Sql.execute(cluster.postgres(3), "CLUSTER num_surrogate USING num_surrogate_v");
        Sql.execute(cluster.postgres(3), "ALTER TABLE num_surrogate SET WITHOUT CLUSTER");
        Sql.execute(cluster.gateway(2), "ALTER TABLE num_surrogate ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY"
            + " PRIMARY KEY, ADD COLUMN s smallserial UNIQUE");
        assertSameTable("num_surrogate", 120);
        assertEverywhere("(SELECT count(*) FILTER (WHERE s = id) || ':' || max(id) FROM num_surrogate)", "120:120");
        for (int gw = 1; gw <= TestCluster.NODES; gw++) {
            Sql.execute(cluster.gateway(gw), "INSERT INTO num_surrogate (k, v) VALUES (" + gw + ", 'later')");
            Sql.execute(cluster.gateway(gw), "UPDATE num_surrogate SET k = k + 10 WHERE id = " + (10 * gw));
        }
        assertSameTable("num_surrogate", 123);
        // an inheritance tree: the parent's serial numbers the parent's rows and its child's from one sequence
        Sql.execute(cluster.gateway(1), "CREATE TABLE num_parent (k int)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE num_child (extra text) INHERITS (num_parent)");
        Sql.execute(cluster.gateway(1), "INSERT INTO num_parent SELECT g % 4 FROM generate_series(1, 30) g");
        Sql.execute(cluster.gateway(1), "INSERT INTO num_child SELECT g % 4, 'c' FROM generate_series(1, 40) g");
        Sql.execute(cluster.gateway(2), "ALTER TABLE num_parent ADD COLUMN s bigserial");
        assertSameTable("num_parent", 70);
        assertSameTable("num_child", 40);
        assertEverywhere("(SELECT count(DISTINCT s) || ':' || max(s) FROM num_parent)", "70:70");
        // inside a transaction, with writes before and after
        try (Connection c = cluster.viaGateway(3)) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("INSERT INTO num_keyed (id, v) VALUES (201, 'before')");
                st.execute("ALTER TABLE num_keyed ADD COLUMN t int GENERATED ALWAYS AS IDENTITY");
                st.execute("INSERT INTO num_keyed (id, v) VALUES (202, 'after')");
            }
            c.commit();
        }
        assertSameTable("num_keyed", 202);
        // later rows through every gateway take fresh values: none of the carried ones, none another node took
        for (int round = 0; round < 2; round++) {
            for (int gw = 1; gw <= TestCluster.NODES; gw++) {
                int base = 1000 + 100 * gw + 10 * round;
                Sql.execute(cluster.gateway(gw), "INSERT INTO num_keyed (id, v) SELECT g, 'later' FROM generate_series("
                    + base + ", " + (base + 4) + ") g");
                Sql.execute(cluster.gateway(gw), "INSERT INTO num_bare (k) SELECT 9 FROM generate_series(1, 5)");
                Sql.execute(cluster.gateway(gw), "INSERT INTO num_child (k, extra) VALUES (9, 'later')");
            }
        }
        assertSameTable("num_keyed", 232);
        assertSameTable("num_bare", 120);
        assertSameTable("num_parent", 76);
        assertEverywhere("(SELECT count(DISTINCT n) || ':' || count(DISTINCT a) || ':' || count(DISTINCT t) || ':'"
            + " || bool_and(n > 200 AND a > 2990 AND t > 201) FILTER (WHERE v = 'later') FROM num_keyed)", "232:232:232:true");
        assertEverywhere("(SELECT count(DISTINCT s) || ':' || count(DISTINCT b) || ':' || count(DISTINCT i) || ':'"
            + " || bool_and(s > 90 AND b > 90 AND i > 90) FILTER (WHERE k = 9) FROM num_bare)", "120:120:120:true");
        assertEverywhere("(SELECT count(DISTINCT s) || ':' || bool_and(s > 70) FILTER (WHERE k = 9) FROM num_parent)", "76:true");
        // a session in mtm.volkswagen_mode: the sequence is left as PostgreSQL leaves it, on every node
        Sql.execute(cluster.gateway(1), "CREATE TABLE num_vw AS SELECT g % 2 AS k FROM generate_series(1, 10) g");
        PgTools.Result r = PgTools.psql(cluster.gateway(2), "SET mtm.volkswagen_mode = on;\n"
            + "ALTER TABLE num_vw ADD COLUMN i int GENERATED ALWAYS AS IDENTITY;\n", PSQL);
        assertTrue("psql through gateway 2: " + r, r.ok() && !r.toString().contains("ERROR"));
        assertSameTable("num_vw", 10);
        assertEverywhere("(SELECT count(DISTINCT i) || ':' || max(i) FROM num_vw)", "10:10");
        assertEverywhere("(SELECT seqincrement FROM pg_sequence WHERE seqrelid = 'num_vw_i_seq'::regclass)", "1");
        Sql.execute(cluster.gateway(3), "INSERT INTO num_vw (k) VALUES (7)");
        assertEverywhere("(SELECT i FROM num_vw WHERE k = 7)", "11");
        // the catalog as the statements made it, on every node (GENERATED ALWAYS after the other nodes' switch)
        assertSameSchemaDump("num_*");
    }

    /** pg_dump --schema-only of the tables and sequences matching pattern: alike on every node, strided STARTs aside. */
    private static void assertSameSchemaDump(String pattern) {
        String first = null;
        for (int id = 1; id <= TestCluster.NODES; id++) {
            PgTools.Result dump = PgTools.run(List.of(PgTools.BIN.resolve("pg_dump").toString(), "--schema-only", "-t",
                pattern, "-d", PgTools.conninfo(cluster.postgres(id))), null, PSQL);
            assertTrue("pg_dump of node" + id + ": " + dump, dump.ok() && dump.stdout().contains("CREATE TABLE"));
            String normalised = NodeComparison.normalised(dump.stdout(), TestCluster.NODES);
            if (first == null) {
                first = normalised;
            } else {
                assertEquals("pg_dump --schema-only -t " + pattern + " on node" + id + " as on node1", first, normalised);
            }
        }
    }

    @Test
    public void aNewColumnMergedIntoAChildKeepsTheChildsValuesOnEveryNode() throws SQLException {
        // children that had the column before: their own (inh_child, and below it inh_grandchild) or inherited from
        // another parent (inh_multi); children that had not (inh_plain, and inh_diamond through two parents)
        Sql.execute(cluster.gateway(1), "CREATE DOMAIN inh_stamp AS timestamptz DEFAULT now()");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_parent (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_child (c timestamptz, v float8, s inh_stamp) INHERITS (inh_parent)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_grandchild () INHERITS (inh_child)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_other (c timestamptz)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_multi () INHERITS (inh_parent, inh_other)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_plain () INHERITS (inh_parent)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_side1 () INHERITS (inh_parent)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_side2 () INHERITS (inh_parent)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_diamond () INHERITS (inh_side1, inh_side2)");
        Sql.execute(cluster.gateway(1), "INSERT INTO inh_parent VALUES (1), (2)");
        Sql.execute(cluster.gateway(1), "INSERT INTO inh_child VALUES (10, '2001-01-01 00:00+00', 0.5, '2011-01-01 00:00+00'),"
            + " (11, '2002-02-02 00:00+00', 1.5, NULL)");
        Sql.execute(cluster.gateway(1), "INSERT INTO inh_grandchild VALUES (20, '2003-03-03 00:00+00', 2.5, '2013-03-03 00:00+00')");
        Sql.execute(cluster.gateway(1), "INSERT INTO inh_multi VALUES (30, '2004-04-04 00:00+00')");
        Sql.execute(cluster.gateway(1), "INSERT INTO inh_plain VALUES (40)");
        Sql.execute(cluster.gateway(1), "INSERT INTO inh_diamond VALUES (50)");
        List<String> tables = List.of("inh_parent", "inh_child", "inh_grandchild", "inh_multi", "inh_plain", "inh_diamond");
        String kept = "(SELECT string_agg(id || ':' || to_char(c AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ',' ORDER BY id)"
            + " FROM inh_parent WHERE id BETWEEN 10 AND 39)";
        // a value of the moment, kept as the rows' missing value on the origin
        Sql.execute(cluster.gateway(2), "ALTER TABLE inh_parent ADD COLUMN c timestamptz DEFAULT now()");
        assertSameTables(2, tables);
        assertEverywhere(kept, "10:2001-01-01,11:2002-02-02,20:2003-03-03,30:2004-04-04");
        // beside a volatile default merged into the child: the parent and inh_plain are rewritten and carried row by
        // row, the child is not rewritten and takes the value of the moment in its new column d only
        Sql.execute(cluster.gateway(3), "ALTER TABLE inh_parent ADD COLUMN d timestamptz DEFAULT now(),"
            + " ADD COLUMN v float8 DEFAULT random()");
        assertSameTables(3, tables);
        assertEverywhere("(SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM inh_child)", "10:0.5,11:1.5,20:2.5");
        // a domain's default of the moment
        Sql.execute(cluster.gateway(1), "ALTER TABLE inh_parent ADD COLUMN s inh_stamp");
        assertSameTables(1, tables);
        assertEverywhere("(SELECT string_agg(id || ':' || coalesce(to_char(s AT TIME ZONE 'UTC', 'YYYY'), '-'), ',' ORDER BY id)"
            + " FROM inh_child)", "10:2011,11:-,20:2013");
        // the parent without rows of its own: nothing is read from a child
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_empty (id int)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE inh_empty_child (c timestamptz) INHERITS (inh_empty)");
        Sql.execute(cluster.gateway(1), "INSERT INTO inh_empty_child VALUES (1, '2001-01-01 00:00+00'), (2, '2002-02-02 00:00+00')");
        Sql.execute(cluster.gateway(2), "ALTER TABLE inh_empty ADD COLUMN c timestamptz DEFAULT now()");
        assertSameTables(2, List.of("inh_empty", "inh_empty_child"));
        assertEverywhere("(SELECT string_agg(id || ':' || to_char(c AT TIME ZONE 'UTC', 'YYYY'), ',' ORDER BY id) FROM inh_empty_child)",
            "1:2001,2:2002");
    }

    /** Every node's own PostgreSQL holds in each of tables (ONLY the table) the rows node origin holds. */
    private static void assertSameTables(int origin, List<String> tables) throws SQLException {
        for (String table : tables) {
            String digest = "(SELECT count(*) || ':' || md5(string_agg(x::text, ',' ORDER BY x::text)) FROM ONLY " + table + " x)";
            assertEverywhere(digest, Sql.scalar(cluster.postgres(origin), "SELECT " + digest));
        }
    }

    /** Every node's own PostgreSQL holds the same rows in table, as many as given. */
    private static void assertSameTable(String table, int rows) throws SQLException {
        String digest = "(SELECT count(*) || ':' || md5(string_agg(x::text, ',' ORDER BY x::text)) FROM " + table + " x)";
        String expected = Sql.scalar(cluster.postgres(1), "SELECT " + digest);
        assertTrue(table + ": " + expected, expected.startsWith(rows + ":"));
        assertEverywhere(digest, expected);
    }

    @Test
    public void aRewriteThatComputesOtherValuesOnAnotherNodeIsRefused() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE rewritten (id int PRIMARY KEY, c int, f float8, b bytea, t text)");
        Sql.execute(cluster.gateway(1), "INSERT INTO rewritten VALUES (1, 1, 0.1, '\\x0102', '2001-02-03'),"
            + " (2, 2, 1.0 / 3, 'ab', '2002-03-04')");
        String digest = "(SELECT md5(string_agg(concat_ws('|', id, c, f, b, t), ',' ORDER BY id)) FROM rewritten)";
        String before = Sql.scalar(cluster.postgres(1), "SELECT " + digest);
        // each node would compute its own values for the rows: refused on the other nodes, nothing changed anywhere
        for (String using : List.of("ALTER COLUMN c TYPE float8 USING random()",
                "ALTER COLUMN t TYPE timestamptz USING coalesce(NULL, now())",
                "ALTER COLUMN c TYPE bigint USING c + extract(microseconds FROM clock_timestamp())::bigint")) {
            SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(2), "ALTER TABLE rewritten " + using));
            assertEquals(using + ": " + e.getMessage(), "0A000", e.getSQLState());
            assertTrue(using + ": " + e.getMessage(), e.getMessage().contains("rewritten")
                && e.getMessage().contains("other values"));
            assertEverywhere(digest, before);
        }
        // what depends only on the session's settings is computed with the origin's on every node
        PgTools.Result r = PgTools.psql(cluster.gateway(3), "SET extra_float_digits = 0;\nSET bytea_output = 'escape';\n"
            + "SET DateStyle = 'ISO, DMY';\n"
            + "ALTER TABLE rewritten ALTER COLUMN f TYPE text, ALTER COLUMN b TYPE text,"
            + " ALTER COLUMN t TYPE text USING ('03/02/' || substr(t, 1, 4))::date::text;\n", PSQL);
        assertTrue("psql through gateway 3: " + r, r.ok() && !r.toString().contains("ERROR"));
        assertEverywhere("(SELECT string_agg(concat_ws('|', id, f, b, t), ',' ORDER BY id) FROM rewritten)",
            "1|0.1|\\001\\002|2001-02-03,2|0.333333333333333|ab|2002-02-03");
        // dates written in another output style than ISO: the other nodes' appliers keep ISO (their driver requires
        // it), so such a rewrite is refused rather than left different
        r = PgTools.psql(cluster.gateway(2), "SET DateStyle = 'SQL, DMY';\n"
            + "ALTER TABLE rewritten ALTER COLUMN t TYPE text USING t::date::text;\n", PSQL);
        assertTrue("psql through gateway 2: " + r, r.stderr().contains("other values") && r.stderr().contains("DateStyle"));
        assertEverywhere("(SELECT string_agg(t, ',' ORDER BY id) FROM rewritten)", "2001-02-03,2002-02-03");
        // a rewrite that computes the same everywhere is not refused
        Sql.execute(cluster.gateway(1), "ALTER TABLE rewritten ALTER COLUMN c TYPE numeric USING c * 2.5");
        assertEverywhere("(SELECT string_agg(id || ':' || c, ',' ORDER BY id) FROM rewritten)", "1:2.5,2:5.0");
        // nor one of a local table, whose rows are each node's own
        Sql.execute(cluster.gateway(1), "CREATE TABLE rewritten_local (id int PRIMARY KEY, at text)");
        PgTools.Result local = PgTools.psql(cluster.gateway(1), "SELECT mtm.make_table_local('rewritten_local');\n", PSQL);
        assertTrue("mtm.make_table_local: " + local, local.ok());
        for (int id = 1; id <= TestCluster.NODES; id++) {
            Sql.execute(cluster.gateway(id), "INSERT INTO rewritten_local VALUES (" + id + ", 'node" + id + "')");
        }
        Sql.execute(cluster.gateway(2), "ALTER TABLE rewritten_local ALTER COLUMN at TYPE text USING at || now()");
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertTrue("node " + id, Sql.scalar(cluster.postgres(id), "SELECT at FROM rewritten_local").startsWith("node" + id));
        }
    }

    @Test
    public void aRoutineOfATemporaryTablesRowTypeIsMadeOnItsNodeOnly() throws SQLException {
        // rangefuncs, returning, rowtypes of the regression suite: the other nodes have no such type
        Sql.execute(cluster.gateway(1), "CREATE TABLE counted_users (id int PRIMARY KEY)");
        try (Connection c = cluster.viaGateway(2); java.sql.Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE users (userid text, seq int)");
            st.execute("INSERT INTO users VALUES ('id', 1), ('id2', 2)");
            c.setAutoCommit(false); // with a replicated write in the same transaction
            st.execute("CREATE FUNCTION get_users() RETURNS SETOF users LANGUAGE sql STABLE AS $$ SELECT * FROM users $$");
            st.execute("INSERT INTO counted_users SELECT seq FROM get_users()");
            c.commit();
            c.setAutoCommit(true);
            st.execute("CREATE FUNCTION user_id(u users) RETURNS text LANGUAGE sql AS $$ SELECT u.userid $$");
            try (java.sql.ResultSet rs = st.executeQuery("SELECT string_agg(user_id(u), ',' ORDER BY seq) FROM get_users() u")) {
                rs.next();
                assertEquals("id,id2", rs.getString(1));
            }
            for (int id = 1; id <= TestCluster.NODES; id++) {
                assertEquals("node " + id, id == 2 ? "2" : "0", Sql.scalar(cluster.postgres(id),
                    "SELECT count(*) FROM pg_proc WHERE proname IN ('get_users', 'user_id')"));
            }
            st.execute("DROP FUNCTION user_id(users)");
        }
        assertEverywhere("(SELECT string_agg(id::text, ',' ORDER BY id) FROM counted_users)", "1,2");
        Poll.until("node 2's routines of users gone with its session", Duration.ofSeconds(30), Duration.ofMillis(200),
            () -> Sql.scalar(cluster.postgres(2), "SELECT count(*) FROM pg_proc WHERE proname = 'get_users'"), "0"::equals);
    }

    @Test
    public void makeTableLocalKeepsLaterWritesOnTheirNode() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE per_node (id int PRIMARY KEY, origin text)");
        Sql.execute(cluster.gateway(1), "INSERT INTO per_node VALUES (0, 'before')");
        assertEverywhere("(SELECT string_agg(id || ':' || origin, ',') FROM per_node)", "0:before");

        PgTools.Result r = PgTools.psql(cluster.gateway(1), "SELECT mtm.make_table_local('per_node');\n", PSQL);
        assertTrue("mtm.make_table_local through gateway 1: " + r, r.ok());
        assertEverywhere("(SELECT count(*) FROM mtm.local_tables WHERE rel_name = 'per_node')", "1");

        for (int id = 1; id <= TestCluster.NODES; id++) {
            Sql.execute(cluster.gateway(id), "INSERT INTO per_node VALUES (" + id + ", 'node" + id + "')");
            Sql.execute(cluster.gateway(id), "UPDATE per_node SET origin = 'changed on node" + id + "' WHERE id = 0");
        }
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertEquals("per_node on node" + id + " has only its own writes", "0:changed on node" + id + "," + id + ":node" + id,
                Sql.scalar(cluster.postgres(id), "SELECT string_agg(id || ':' || origin, ',' ORDER BY id) FROM per_node"));
        }
    }

    @Test
    public void localOnlyStatementsRunAndStayLocal() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE maintained (id int PRIMARY KEY, v text)");
        Sql.execute(cluster.gateway(1), "INSERT INTO maintained SELECT g, 'm' FROM generate_series(1, 1000) g");
        List<Long> checkpointsBefore = new ArrayList<>();
        for (int id = 1; id <= TestCluster.NODES; id++) {
            checkpointsBefore.add(checkpointsRequested(id));
        }
        try (Connection c = cluster.viaGateway(2); Statement st = c.createStatement()) {
            st.execute("VACUUM maintained");
            st.execute("ANALYZE maintained");
            st.execute("VACUUM (ANALYZE) maintained");
            st.execute("CHECKPOINT");
            st.execute("REINDEX TABLE maintained");
        }
        // psql too: VACUUM cannot run in a transaction block, so it must not have been wrapped in one
        PgTools.Result r = PgTools.psql(cluster.gateway(2), "VACUUM maintained;\nANALYZE;\nCHECKPOINT;\n", PSQL);
        assertTrue("local statements through psql: " + r, r.ok());
        String stats = "SELECT (last_vacuum IS NOT NULL) || ',' || (last_analyze IS NOT NULL) FROM pg_stat_user_tables WHERE relname = 'maintained'";
        assertEquals("vacuumed and analyzed on node 2", "true,true", Sql.scalar(cluster.postgres(2), stats));
        assertTrue("CHECKPOINT ran on node 2",
            checkpointsRequested(2) > checkpointsBefore.get(1));
        for (int id : new int[] {1, 3}) {
            assertEquals("not vacuumed/analyzed by a replicated statement on node" + id, "false,false",
                Sql.scalar(cluster.postgres(id), stats));
            assertEquals("no replicated CHECKPOINT on node" + id, checkpointsBefore.get(id - 1).longValue(),
                checkpointsRequested(id));
        }
        assertEquals(ClusterInvariants.digest(cluster.postgres(1), "maintained", "t.id"),
            ClusterInvariants.digest(cluster.postgres(2), "maintained", "t.id"));
    }

    /**
     * Issue 12: a temporary table and a temporary view (node-local stand-ins) mix with replicated writes, in a
     * transaction and in one autocommit statement; a temporary function is still PostgreSQL's own temporary object,
     * so a transaction that calls one and changes a replicated table cannot be prepared: refused at COMMIT (0A000),
     * nothing committed anywhere.
     */
    @Test
    public void temporaryTablesAndViewsMixWithReplicatedWritesTemporaryFunctionsAreRefused() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE shared_target (id int PRIMARY KEY, v text)");
        // simple query protocol, as psql: a temporary view is a stand-in there (in the extended protocol it stays
        // PostgreSQL's own, see the README)
        try (Connection c = cluster.viaGateway(3, "preferQueryMode", "simple"); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE staging (id int, v text)");
            st.execute("INSERT INTO staging VALUES (1, 'staged'), (2, 'staged')");
            c.setAutoCommit(false);
            st.execute("INSERT INTO staging VALUES (3, 'staged in tx')");
            st.execute("INSERT INTO shared_target VALUES (100, 'with temp')");
            c.commit();
            c.setAutoCommit(true);
            assertEquals("3", Sql.scalar(c, "SELECT count(*) FROM staging"));
            // one autocommit statement reading a temporary table into a replicated one
            st.execute("INSERT INTO shared_target SELECT id, v FROM staging");

            st.execute("CREATE TEMP VIEW staged_view AS SELECT id + 10 AS id, v FROM staging");
            c.setAutoCommit(false);
            st.execute("INSERT INTO shared_target SELECT id, v FROM staged_view");
            c.commit();

            st.execute("CREATE FUNCTION pg_temp.plus_twenty(i int) RETURNS int LANGUAGE sql AS 'SELECT i + 20'");
            st.execute("INSERT INTO shared_target SELECT pg_temp.plus_twenty(id), v FROM staging");
            SQLException refused = expectFailure(c::commit);
            TestCluster.log(WHO, "COMMIT mixing a temporary function and replicated writes: %s %s", refused.getSQLState(),
                refused.getMessage());
            assertEquals("SQLSTATE: " + refused.getMessage(), "0A000", refused.getSQLState());
            c.rollback();
            c.setAutoCommit(true);
            st.execute("INSERT INTO shared_target VALUES (4, 'plain')");
        }
        assertEverywhere("(SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM shared_target)",
            "1:staged,2:staged,3:staged in tx,4:plain,11:staged,12:staged,13:staged in tx,100:with temp");
    }

    // ---- issue 8, parts 3 and 4: DDL identical or refused, no poison transaction ----------------------------------

    @Test
    public void createTableAsAndSelectIntoCarryTheOriginsRows() throws SQLException {
        // each node would compute other values, and another number of rows
        Sql.execute(cluster.gateway(1), "CREATE TABLE ctas_random AS SELECT g AS id, random() AS r, clock_timestamp() AS at"
            + " FROM generate_series(1, 200) g WHERE random() < 0.5");
        Sql.execute(cluster.gateway(2), "SELECT g AS id, random() AS r INTO ctas_into FROM generate_series(1, 50) g");
        PgTools.Result r = PgTools.psql(cluster.gateway(3), null, PSQL, "-c",
            "CREATE TABLE ctas_multi (id int PRIMARY KEY); INSERT INTO ctas_multi VALUES (1); "
                + "CREATE TABLE ctas_copy AS SELECT id, random() AS r FROM ctas_multi; INSERT INTO ctas_copy VALUES (2, 0.5)");
        assertTrue("multi-statement query through gateway 3: " + r, r.ok());
        for (String table : new String[] {"ctas_random", "ctas_into", "ctas_copy"}) {
            String digest = ClusterInvariants.digest(cluster.postgres(1), table, "t.id");
            for (int id = 2; id <= TestCluster.NODES; id++) {
                assertEquals(table + " on node" + id + " as on node 1", digest, ClusterInvariants.digest(cluster.postgres(id), table, "t.id"));
            }
        }
        assertEverywhere("(SELECT count(*) FROM ctas_copy)", "2");
        // from a temporary table: the other nodes run the statement's text and have no such table (it is node 1's
        // stand-in), so they refuse it and it is nowhere created; the error says what to do
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE ctas_source AS SELECT 1 AS id");
            SQLException refused = expectFailure(() -> st.execute("CREATE TABLE ctas_from_temp AS SELECT * FROM ctas_source"));
            assertEquals("SQLSTATE: " + refused.getMessage(), "42P01", refused.getSQLState());
            assertTrue("names the temporary table and says what to do: " + refused.getMessage(),
                refused.getMessage().contains("ctas_source") && refused.getMessage().contains("INSERT ... SELECT"));
        }
        assertEverywhere("to_regclass('ctas_from_temp') IS NULL", "t");
    }

    @Test
    public void createTableAsExecuteCarriesTheOriginsRows() throws SQLException {
        // the regression files create_table, select_into, write_parallel: the other nodes have no such prepared
        // statement; they prepare its query under a name of their own, and the origin's rows follow
        PgTools.Result r = PgTools.psql(cluster.gateway(2), null, PSQL, "-c",
            "PREPARE other AS SELECT 1; PREPARE rnd(int) AS SELECT g AS id, random() AS r FROM generate_series(1, $1) g"
                + " WHERE random() < 0.7; CREATE TABLE ctas_exec AS EXECUTE rnd(100)");
        assertTrue("multi-statement query through gateway 2: " + r, r.ok());
        try (Connection c = cluster.viaGateway(3); Statement st = c.createStatement()) {
            st.execute("PREPARE q AS SELECT g AS id, clock_timestamp() AS at FROM generate_series(1, 20) g WHERE random() < 0.5");
            st.execute("CREATE TABLE IF NOT EXISTS ctas_exec_nd (id, at) AS EXECUTE q WITH NO DATA");
            st.execute("EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF, TIMING OFF) CREATE TABLE ctas_exec_ea AS EXECUTE q");
            SQLException missing = expectFailure(() -> st.execute("CREATE TABLE ctas_exec_none AS EXECUTE nope"));
            assertEquals("PostgreSQL's own error: " + missing.getMessage(), "26000", missing.getSQLState());
        }
        for (String table : new String[] {"ctas_exec", "ctas_exec_nd", "ctas_exec_ea"}) {
            String digest = ClusterInvariants.digest(cluster.postgres(1), table, "t.id");
            for (int id = 2; id <= TestCluster.NODES; id++) {
                assertEquals(table + " on node" + id + " as on node 1", digest, ClusterInvariants.digest(cluster.postgres(id), table, "t.id"));
            }
        }
        assertEverywhere("(SELECT count(*) FROM ctas_exec_nd)", "0");
        assertEverywhere("(SELECT count(*) > 0 FROM ctas_exec)", "t");
        assertEverywhere("to_regclass('ctas_exec_none') IS NULL", "t");
    }

    @Test
    public void aPermanentTableCannotBeLinkedToATemporaryOne() throws SQLException {
        // the regression suite's alter_table: a permanent partition attached to a temporary parent (a node-local
        // stand-in) was dropped with it, at the session's end, on that node only
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE temp_parted (a int) PARTITION BY LIST (a)");
            st.execute("CREATE TEMP TABLE temp_base (a int)");
            st.execute("CREATE TABLE perm_part (a int)");
            // PostgreSQL's messages for its own temporary tables
            String[][] links = {
                {"ALTER TABLE temp_parted ATTACH PARTITION perm_part FOR VALUES IN (1)",
                    "cannot attach a permanent relation as partition of temporary relation \"temp_parted\""},
                {"CREATE TABLE perm_part2 PARTITION OF temp_parted FOR VALUES IN (2)",
                    "cannot create a permanent relation as partition of temporary relation \"temp_parted\""},
                {"CREATE TABLE perm_heir (b int) INHERITS (temp_base)", "cannot inherit from temporary relation \"temp_base\""},
            };
            for (String[] link : links) {
                SQLException e = expectFailure(() -> st.execute(link[0]));
                assertTrue(link[0] + ": " + e.getSQLState() + " " + e.getMessage(), "42809".equals(e.getSQLState())
                    && e.getMessage().contains(link[1]));
            }
        }
        // the session ended and its stand-ins are swept: the permanent table is still on every node
        Poll.until("node 1's stand-ins swept", java.time.Duration.ofSeconds(30), java.time.Duration.ofMillis(200),
            () -> Sql.scalar(cluster.postgres(1), "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'mtm\\_temp\\_%'"),
            "0"::equals);
        assertEverywhere("(SELECT string_agg(relname, ',') FROM pg_class WHERE relname IN ('perm_part', 'perm_part2',"
            + " 'perm_heir'))", "perm_part");
    }

    @Test
    public void statementsThatWouldLeaveNodesDifferentAreRefusedNamingTheStatement() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE logged_t (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE parted (id int) PARTITION BY RANGE (id)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10)");
        String[][] refusals = {
            {"ALTER TABLE parted DETACH PARTITION parted_1 CONCURRENTLY", "DETACH PARTITION ... CONCURRENTLY"},
            {"ALTER TABLE logged_t SET SCHEMA pg_catalog", "SET SCHEMA pg_catalog"},
        };
        for (String[] refusal : refusals) {
            SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(2), refusal[0]));
            TestCluster.log(WHO, "%s: %s %s", refusal[0], e.getSQLState(), e.getMessage());
            assertEquals(refusal[0] + ": " + e.getMessage(), "0A000", e.getSQLState());
            assertTrue(refusal[0] + ": " + e.getMessage(), e.getMessage().contains(refusal[1]));
        }
        assertEverywhere("(SELECT relpersistence FROM pg_class WHERE oid = 'logged_t'::regclass)", "p");
        assertEverywhere("(SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'logged_t'::regclass)", "public");
        assertEverywhere("(SELECT count(*) FROM pg_inherits WHERE inhrelid = 'parted_1'::regclass)", "1");
        // the statements that do work
        Sql.execute(cluster.gateway(3), "ALTER TABLE parted DETACH PARTITION parted_1");
        assertEverywhere("(SELECT count(*) FROM pg_inherits WHERE inhrelid = 'parted_1'::regclass)", "0");
        Sql.execute(cluster.gateway(3), "INSERT INTO logged_t VALUES (1)");
        assertEverywhere("(SELECT count(*) FROM logged_t)", "1");

        // VACUUM in a query of several statements: PostgreSQL refuses it in the query's implicit block (25001)
        PgTools.Result vacuum = PgTools.psql(cluster.gateway(1), null, PSQL, "-c", "SELECT 1; COMMIT; VACUUM logged_t");
        TestCluster.log(WHO, "SELECT 1; COMMIT; VACUUM: %s", vacuum);
        assertTrue("refused as PostgreSQL refuses it: " + vacuum, !vacuum.ok()
            && vacuum.stderr().contains("VACUUM cannot run inside a transaction block"));
        PgTools.Result alone = PgTools.psql(cluster.gateway(1), null, PSQL, "-c", "VACUUM logged_t");
        assertTrue("VACUUM alone runs: " + alone, alone.ok());
    }

    @Test
    public void largeObjectWritesAreRefusedAndCommitNowhere() throws Exception {
        Sql.execute(cluster.gateway(1), "CREATE TABLE lo_refs (id int PRIMARY KEY, lo oid)");
        String[] writes = {
            "SELECT lo_create(0)",
            "SELECT lo_from_bytea(0, 'payload'::bytea)",
            "INSERT INTO lo_refs VALUES (1, lo_from_bytea(0, 'x'))",
        };
        for (String write : writes) {
            SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(2), write));
            TestCluster.log(WHO, "%s: %s %s", write, e.getSQLState(), e.getMessage());
            assertEquals(write + ": " + e.getMessage(), "0A000", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("large objects are not replicated"));
        }
        // pgjdbc's large-object API (fast-path function calls)
        try (Connection c = cluster.viaGateway(3)) {
            c.setAutoCommit(false);
            org.postgresql.largeobject.LargeObjectManager lom = c.unwrap(org.postgresql.PGConnection.class).getLargeObjectAPI();
            long oid = lom.createLO();
            try (org.postgresql.largeobject.LargeObject lo = lom.open(oid, org.postgresql.largeobject.LargeObjectManager.WRITE)) {
                lo.write(new byte[] {1, 2, 3});
            }
            SQLException e = expectFailure(c::commit);
            assertEquals("pgjdbc large object: " + e.getMessage(), "0A000", e.getSQLState());
        }
        assertEverywhere("(SELECT count(*) FROM pg_largeobject_metadata)", "0");
        assertEverywhere("(SELECT count(*) FROM lo_refs)", "0");
        // reading is fine, and so is a transaction without large objects
        Sql.execute(cluster.gateway(2), "INSERT INTO lo_refs VALUES (2, NULL)");
        assertEverywhere("(SELECT count(*) FROM lo_refs)", "1");
    }

    @Test
    public void anUnchangedDomainValueUnderANotValidConstraintUpdatesOnEveryNode() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE DOMAIN nv_pos AS int");
        Sql.execute(cluster.gateway(1), "CREATE TABLE nv_rows (id int PRIMARY KEY, v nv_pos, w text)");
        Sql.execute(cluster.gateway(1), "INSERT INTO nv_rows VALUES (1, -1, 'a'), (2, 2, 'b')");
        Sql.execute(cluster.gateway(2), "ALTER DOMAIN nv_pos ADD CONSTRAINT nv_positive CHECK (VALUE > 0) NOT VALID");
        Sql.execute(cluster.gateway(3), "UPDATE nv_rows SET w = w || '!'");
        assertEverywhere("(SELECT string_agg(id || ':' || v || ':' || w, ',' ORDER BY id) FROM nv_rows)", "1:-1:a!,2:2:b!");
        SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(1), "UPDATE nv_rows SET v = -5 WHERE id = 2"));
        assertEquals("the constraint holds for new values: " + e.getMessage(), "23514", e.getSQLState());
        Sql.execute(cluster.gateway(1), "CREATE TYPE nv_recur AS (f1 int)");
        Sql.execute(cluster.gateway(1), "CREATE DOMAIN nv_recur_arr AS nv_recur[]");
        assertEverywhere("to_regtype('nv_recur_arr') IS NOT NULL", "t");
    }

    @Test
    public void aTriggerSetToFireInReplicaModeIsRefused() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE trg_audited (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE trg_audit_log (note text)");
        Sql.execute(cluster.gateway(1), "CREATE FUNCTION trg_audit_row() RETURNS trigger LANGUAGE plpgsql AS"
            + " $$BEGIN INSERT INTO trg_audit_log VALUES ('id ' || NEW.id); RETURN NEW; END$$");
        Sql.execute(cluster.gateway(1), "CREATE TRIGGER audit AFTER INSERT ON trg_audited FOR EACH ROW EXECUTE FUNCTION trg_audit_row()");
        // in replica mode it would fire again in every other node's applier: each node would log rows of its own
        for (String mode : List.of("ALWAYS", "REPLICA")) {
            SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(2), "ALTER TABLE trg_audited ENABLE " + mode + " TRIGGER audit"));
            assertEquals(mode + ": " + e.getMessage(), "0A000", e.getSQLState());
            assertTrue(mode + ": " + e.getMessage(), e.getMessage().contains("[multimaster] trigger audit on public.trg_audited set to ENABLE " + mode));
        }
        assertEverywhere("(SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'audit')", "O");
        // an ordinary trigger fires on the origin only, and its row reaches the other nodes as a row
        Sql.execute(cluster.gateway(3), "INSERT INTO trg_audited VALUES (1)");
        assertEverywhere("(SELECT string_agg(note, ',') FROM trg_audit_log)", "id 1");
    }

    @Test
    public void aRuleSetToFireInReplicaModeIsRefused() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE rule_src (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE rule_copies (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE RULE copy AS ON INSERT TO rule_src DO ALSO INSERT INTO rule_copies VALUES (NEW.id)");
        // in replica mode it would rewrite every other node's applied rows too: each node would copy rows of its own
        for (String mode : List.of("ALWAYS", "REPLICA")) {
            SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(2), "ALTER TABLE rule_src ENABLE " + mode + " RULE copy"));
            assertEquals(mode + ": " + e.getMessage(), "0A000", e.getSQLState());
            assertTrue(mode + ": " + e.getMessage(), e.getMessage().contains("[multimaster] rule copy on public.rule_src set to ENABLE " + mode));
        }
        // also in a session in replica mode itself, where an ordinary event trigger does not fire
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            st.execute("SET session_replication_role = replica");
            SQLException e = expectFailure(() -> st.execute("ALTER TABLE rule_src ENABLE REPLICA RULE copy"));
            assertEquals(e.getMessage(), "0A000", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("[multimaster] rule copy on public.rule_src set to ENABLE REPLICA"));
        }
        assertEverywhere("(SELECT ev_enabled::text FROM pg_rewrite WHERE rulename = 'copy')", "O");
        // an ordinary rule rewrites on the origin only, and the row it adds reaches the other nodes as a row
        Sql.execute(cluster.gateway(3), "INSERT INTO rule_src VALUES (1)");
        assertEverywhere("(SELECT count(*) FROM rule_src) || ':' || (SELECT string_agg(id::text, ',') FROM rule_copies)", "1:1");
        Sql.execute(cluster.gateway(2), "ALTER TABLE rule_src DISABLE RULE copy");
        assertEverywhere("(SELECT ev_enabled::text FROM pg_rewrite WHERE rulename = 'copy')", "D");
    }

    @Test
    public void anEventTriggerSetToFireInReplicaModeIsRefused() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE trg_ddl_log (tag text)");
        Sql.execute(cluster.gateway(1), "CREATE TABLE trg_commented (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE FUNCTION trg_ddl_note() RETURNS event_trigger LANGUAGE plpgsql AS"
            + " $$BEGIN INSERT INTO trg_ddl_log VALUES (tg_tag); END$$");
        Sql.execute(cluster.gateway(1), "CREATE EVENT TRIGGER trg_ddl ON ddl_command_end WHEN TAG IN ('COMMENT')"
            + " EXECUTE FUNCTION trg_ddl_note()");
        try {
            // in replica mode it would fire again where every other node runs the DDL: each would log rows of its own
            for (String mode : List.of("ALWAYS", "REPLICA")) {
                SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(2), "ALTER EVENT TRIGGER trg_ddl ENABLE " + mode));
                assertEquals(mode + ": " + e.getMessage(), "0A000", e.getSQLState());
                assertTrue(mode + ": " + e.getMessage(), e.getMessage().contains(
                    "[multimaster] ALTER EVENT TRIGGER ... ENABLE " + mode + " is not supported"));
            }
            assertEverywhere("(SELECT evtenabled::text FROM pg_event_trigger WHERE evtname = 'trg_ddl')", "O");
            Sql.execute(cluster.gateway(3), "ALTER EVENT TRIGGER trg_ddl DISABLE");
            assertEverywhere("(SELECT evtenabled::text FROM pg_event_trigger WHERE evtname = 'trg_ddl')", "D");
            Sql.execute(cluster.gateway(3), "ALTER EVENT TRIGGER trg_ddl ENABLE");
            assertEverywhere("(SELECT evtenabled::text FROM pg_event_trigger WHERE evtname = 'trg_ddl')", "O");
            // an ordinary one fires on the origin only, and its row reaches the other nodes as a row
            Sql.execute(cluster.gateway(2), "COMMENT ON TABLE trg_commented IS 'noted once'");
            assertEverywhere("(SELECT string_agg(tag, ',') FROM trg_ddl_log)", "COMMENT");
        } finally {
            Sql.execute(cluster.gateway(1), "DROP EVENT TRIGGER trg_ddl");
        }
    }

    @Test
    public void initClusterAndAddNodeRefuseANodeWithATriggerSetToFireInReplicaMode() throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE trg_direct (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "CREATE FUNCTION trg_direct_row() RETURNS trigger LANGUAGE plpgsql AS"
            + " $$BEGIN RETURN NEW; END$$");
        Sql.execute(cluster.gateway(1), "CREATE TRIGGER stamp BEFORE INSERT ON trg_direct FOR EACH ROW EXECUTE FUNCTION trg_direct_row()");
        Sql.execute(cluster.gateway(1), "CREATE FUNCTION trg_direct_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$");
        Sql.execute(cluster.gateway(1), "CREATE EVENT TRIGGER trg_direct_log ON ddl_command_end WHEN TAG IN ('COMMENT')"
            + " EXECUTE FUNCTION trg_direct_ddl()");
        // set behind the gateway's back, straight on a node's PostgreSQL, as a database may have them before
        // init_cluster; init_cluster (re-run with the same list) checks before it writes anything
        Sql.execute(cluster.postgres(2), "ALTER TABLE trg_direct ENABLE ALWAYS TRIGGER stamp");
        Sql.execute(cluster.postgres(3), "ALTER EVENT TRIGGER trg_direct_log ENABLE REPLICA");
        String init = "SELECT mtm.init_cluster('" + cluster.node(1).conninfo() + "', '{\"" + cluster.node(2).conninfo()
            + "\", \"" + cluster.node(3).conninfo() + "\"}')";
        try {
            SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(1), init));
            TestCluster.log(WHO, "init_cluster with a trigger in replica mode: %s %s", e.getSQLState(), e.getMessage());
            assertEquals(e.getMessage(), "55000", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("node 2 (" + cluster.node(2).conninfo() + ") has triggers"
                + " or rules set to fire in replica mode: trigger stamp on public.trg_direct (ENABLE ALWAYS)"));
            assertTrue(e.getMessage(), e.getMessage().contains("then retry: ALTER TABLE public.trg_direct ENABLE TRIGGER stamp"));
            // add_node checks every configured node before it writes anything (the new node is a backup of one)
            e = expectFailure(() -> Sql.execute(cluster.gateway(3), "SELECT mtm.add_node('host=127.0.0.1 port=1 dbname=mydb user=mtmuser')"));
            assertEquals(e.getMessage(), "55000", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("mtm.add_node: node 2 has triggers or rules set to fire in"
                + " replica mode: trigger stamp on public.trg_direct (ENABLE ALWAYS)"));
            assertEverywhere("(SELECT count(*) FROM mtm.cluster_nodes)", String.valueOf(TestCluster.NODES));
            Sql.execute(cluster.postgres(2), "ALTER TABLE trg_direct ENABLE TRIGGER stamp");
            e = expectFailure(() -> Sql.execute(cluster.gateway(1), init));
            assertEquals(e.getMessage(), "55000", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("node 3 (" + cluster.node(3).conninfo() + ") has triggers"
                + " or rules set to fire in replica mode: event trigger trg_direct_log (ENABLE REPLICA)"));
            assertTrue(e.getMessage(), e.getMessage().contains("then retry: ALTER EVENT TRIGGER trg_direct_log ENABLE"));
        } finally {
            Sql.execute(cluster.postgres(2), "ALTER TABLE trg_direct ENABLE TRIGGER stamp");
            Sql.execute(cluster.postgres(3), "ALTER EVENT TRIGGER trg_direct_log ENABLE");
            Sql.execute(cluster.gateway(1), "DROP EVENT TRIGGER trg_direct_log");
        }
        assertEverywhere("(SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'stamp')", "O");
    }

    @Test
    public void aGatewaySessionInReplicaModeIsCheckedLikeAnyOther() throws SQLException {
        // ordinary event triggers do not fire in replica mode: the cluster's checks must (they are ENABLE ALWAYS),
        // or this DDL, which no gateway announced, would change node 1 only
        try (Connection c = Sql.connect(cluster.gateway(1))) {
            try (Statement st = c.createStatement()) {
                st.execute("SET session_replication_role = replica");
                SQLException e = expectFailure(() -> st.execute("DO $$BEGIN CREATE TABLE repl_role_sneaked (id int PRIMARY KEY); END$$"));
                assertEquals(e.getMessage(), "0A000", e.getSQLState());
                assertTrue(e.getMessage(), e.getMessage().contains("[multimaster]"));
                // what the gateway sees is replicated as in any other session
                st.execute("CREATE TABLE repl_role_seen (id int PRIMARY KEY)");
            }
        }
        assertEverywhere("to_regclass('public.repl_role_sneaked') IS NULL", "t");
        assertEverywhere("to_regclass('public.repl_role_seen') IS NOT NULL", "t");
        assertEverywhere("(SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'mtm\\_%' AND evtenabled <> 'A')", "0");
    }

    @Test
    public void aUserTableInPgCatalogIsWrittenThroughTheClustersCommit() throws SQLException {
        // put there behind the cluster's back (the gateway refuses SET SCHEMA pg_catalog): pgoutput still sends its
        // rows, with an empty namespace, so its writes must be the cluster's commit and the peers must find it
        Sql.execute(cluster.gateway(1), "CREATE TABLE zz_cat (id int PRIMARY KEY, t text)");
        for (int id = 1; id <= TestCluster.NODES; id++) {
            Sql.execute(cluster.postgres(id), "ALTER TABLE zz_cat SET SCHEMA pg_catalog");
        }
        Sql.execute(cluster.gateway(1), "INSERT INTO pg_catalog.zz_cat VALUES (1, 'x')");
        Sql.execute(cluster.gateway(2), "UPDATE pg_catalog.zz_cat SET t = 'y'");
        Sql.execute(cluster.gateway(1), "CREATE TABLE zz_after (id int PRIMARY KEY)");
        assertEverywhere("(SELECT string_agg(id || ':' || t, ',') FROM pg_catalog.zz_cat)", "1:y");
        Sql.execute(cluster.gateway(3), "DROP TABLE pg_catalog.zz_cat");
        assertEverywhere("to_regclass('pg_catalog.zz_cat') IS NULL", "t");
    }

    @Test
    public void aWriteThePeersCannotApplyDisablesThemUntilItApplies() throws SQLException {
        // committed on node 1 outside the cluster's commit (straight to its PostgreSQL), on a table the others lack
        Sql.execute(cluster.postgres(1), "CREATE TABLE only_on_1 (id int PRIMARY KEY)");
        Sql.execute(cluster.postgres(1), "INSERT INTO only_on_1 VALUES (1)");
        for (int id = 2; id <= TestCluster.NODES; id++) {
            int port = cluster.postgres(id);
            Poll.until("node " + id + " disabled by the transaction it cannot apply", Duration.ofSeconds(30),
                Duration.ofMillis(200), () -> "disabled".equals(Sql.scalar(port, "SELECT status FROM mtm.status()")));
        }
        int node = 2;
        SQLException refused = expectFailure(() -> Sql.execute(cluster.gateway(node), "CREATE TABLE never_here (id int)"));
        TestCluster.log(WHO, "write through a disabled node: %s %s", refused.getSQLState(), refused.getMessage());
        assertEquals(refused.getMessage(), "57P03", refused.getSQLState());
        assertTrue(refused.getMessage(), refused.getMessage().contains("disabled"));
        // the schemas made to agree: the transaction applies and the nodes are online again
        for (int id = 2; id <= TestCluster.NODES; id++) {
            Sql.execute(cluster.postgres(id), "CREATE TABLE only_on_1 (id int PRIMARY KEY)");
        }
        for (int id = 2; id <= TestCluster.NODES; id++) {
            int port = cluster.postgres(id);
            Poll.until("node " + id + " online again", Duration.ofSeconds(30), Duration.ofMillis(200),
                () -> "online".equals(Sql.scalar(port, "SELECT status FROM mtm.status()")));
        }
        assertEverywhere("(SELECT count(*) FROM only_on_1)", "1");
        Sql.execute(cluster.gateway(1), "DROP TABLE only_on_1");
        assertEverywhere("to_regclass('only_on_1') IS NULL", "t");
    }

    @Test
    public void movingATableIntoPgCatalogIsRefusedAndLaterWritesGoOn() throws SQLException {
        // the issue's sequence: before, the INSERT committed on node 1 alone and jammed the others' streams
        Sql.execute(cluster.gateway(1), "CREATE TABLE zz (id int PRIMARY KEY, t text)");
        SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(1), "ALTER TABLE zz SET SCHEMA pg_catalog"));
        assertEquals(e.getMessage(), "0A000", e.getSQLState());
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            Bounded.within(COMMIT_BOUND, "INSERT after the refusal", c, () -> st.execute("INSERT INTO zz VALUES (1, 'x')"));
            Bounded.within(COMMIT_BOUND, "CREATE TABLE after the refusal", c, () -> st.execute("CREATE TABLE zz2 (id int PRIMARY KEY)"));
        }
        assertEverywhere("(SELECT string_agg(id || ':' || t, ',') FROM public.zz)", "1:x");
        assertEverywhere("to_regclass('zz2') IS NOT NULL", "t");
    }

    /** {@code expression} gives {@code expected} on every node's own PostgreSQL, right now. */
    /** Requested checkpoints of node {@code id}'s PostgreSQL: 17 moved the counter to pg_stat_checkpointer. */
    private static long checkpointsRequested(int id) throws SQLException {
        boolean seventeen = Integer.parseInt(Sql.scalar(cluster.postgres(id), "SHOW server_version_num")) >= 170000;
        return Long.parseLong(Sql.scalar(cluster.postgres(id), seventeen
            ? "SELECT num_requested FROM pg_stat_checkpointer" : "SELECT checkpoints_req FROM pg_stat_bgwriter"));
    }

    @Test
    public void explainAnalyzeOfCreateTableAsInsideADoBlockIsRefusedAtTheOrigin() throws SQLException {
        // the regression suite's select_into: EXPLAIN ANALYZE runs CREATE TABLE ... AS without any event trigger
        // firing, so the table was made on node 1 alone and the peers failed on its rows ("relation ... does not
        // exist on node 3"), or — WITH NO DATA — it silently stayed on node 1
        Sql.execute(cluster.gateway(1), "CREATE TABLE easi_src (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "INSERT INTO easi_src VALUES (1), (2)");
        String[][] unseen = {
            {"DO $$BEGIN EXECUTE 'EXPLAIN ANALYZE SELECT * INTO TABLE easi FROM easi_src'; END$$", "easi"},
            {"DO $$BEGIN EXECUTE 'EXPLAIN ANALYZE CREATE TABLE easi2 AS SELECT * FROM easi_src WITH NO DATA'; END$$", "easi2"},
            {"DO $$BEGIN BEGIN EXECUTE 'EXPLAIN ANALYZE CREATE TABLE easi3 AS SELECT * FROM easi_src'; "
                + "EXCEPTION WHEN division_by_zero THEN NULL; END; END$$", "easi3"},
        };
        for (String[] statement : unseen) {
            SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(1), statement[0]));
            TestCluster.log(WHO, "%s: %s %s", statement[0], e.getSQLState(), e.getMessage());
            assertEquals(statement[0] + ": " + e.getMessage(), "0A000", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("table " + statement[1] + " was created by a statement the cluster did not see"));
            assertEverywhere("to_regclass('" + statement[1] + "') IS NULL", "t");
        }
        // TRUNCATE and an explicit lock in a DO block are not creations; CREATE TABLE ... AS on its own is replicated
        Sql.execute(cluster.gateway(2), "DO $$BEGIN LOCK easi_src IN ACCESS EXCLUSIVE MODE; TRUNCATE easi_src; END$$");
        Sql.execute(cluster.gateway(2), "CREATE TABLE easi AS SELECT g AS id FROM generate_series(1, 3) g");
        assertEverywhere("(SELECT count(*) FROM easi) || ':' || (SELECT count(*) FROM easi_src)", "3:0");
    }

    @Test
    public void anEmptySearchPathInASessionWithTemporaryTablesCreatesNothingInTheirSchema() throws SQLException {
        // the regression suite's publication: with stand-ins, the stand-in schema was the only schema on an empty
        // search_path, so CURRENT_SCHEMA and unqualified CREATE found it on node 1 (where PostgreSQL finds no schema),
        // and the other nodes, which have no such schema, failed the statement
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE sp_temp (a int)");
            st.execute("SET search_path = ''");
            String[][] refusals = {
                {"CREATE PUBLICATION sp_pub FOR TABLES IN SCHEMA CURRENT_SCHEMA", "no schema has been selected for CURRENT_SCHEMA"},
                {"CREATE TABLE sp_nowhere (a int)", "no schema has been selected to create in"},
            };
            for (String[] refusal : refusals) {
                SQLException e = expectFailure(() -> st.execute(refusal[0]));
                TestCluster.log(WHO, "%s: %s %s", refusal[0], e.getSQLState(), e.getMessage());
                assertEquals(refusal[0] + ": " + e.getMessage(), "3F000", e.getSQLState());
                assertTrue(refusal[0] + ": " + e.getMessage(), e.getMessage().startsWith("ERROR: " + refusal[1]));
            }
            // the temporary table is still found, as PostgreSQL finds pg_temp's tables with any search_path
            st.execute("INSERT INTO sp_temp VALUES (1)");
            st.execute("SET search_path = public");
            st.execute("CREATE TABLE sp_somewhere (a int)");
        }
        assertEverywhere("(SELECT count(*) FROM pg_publication WHERE pubname = 'sp_pub')", "0");
        assertEverywhere("(SELECT string_agg(relnamespace::regnamespace::text, ',') FROM pg_class WHERE relname IN ('sp_nowhere', 'sp_somewhere'))", "public");
    }

    @Test
    public void anIndexExpressionCallingAFunctionByAnUnqualifiedNameIsRefusedSayingHowToFixIt() throws SQLException {
        // the regression suite's vacuum: the function an index expression calls calls another by its bare name; the
        // appliers run with an empty search_path (as PostgreSQL's apply workers: a search_path with user schemas would
        // let any role that can create there run code as the applier), so the peers cannot find it. The write is voted
        // down everywhere, with 0A000 and what to do — not PostgreSQL's bare "function ... does not exist"
        Sql.execute(cluster.gateway(1), "CREATE FUNCTION ix_inner(c int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2'");
        Sql.execute(cluster.gateway(1), "CREATE FUNCTION ix_outer(c int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT ix_inner($1)'");
        Sql.execute(cluster.gateway(1), "CREATE TABLE ix_rows (i int PRIMARY KEY)");
        if (Integer.parseInt(Sql.scalar(cluster.postgres(1), "SHOW server_version_num")) >= 170000) {
            // PostgreSQL 17 runs CREATE INDEX with a safe search_path itself: the origin refuses it as a standalone
            // server does, before anything is replicated
            SQLException refused = expectFailure(() -> Sql.execute(cluster.gateway(1), "CREATE INDEX ON ix_rows (ix_outer(i))"));
            assertEquals(refused.getMessage(), "42883", refused.getSQLState());
            Sql.execute(cluster.gateway(1), "ALTER FUNCTION ix_outer(int) SET search_path = public");
            Sql.execute(cluster.gateway(1), "CREATE INDEX ON ix_rows (ix_outer(i))");
            Sql.execute(cluster.gateway(1), "INSERT INTO ix_rows VALUES (11), (12)");
            assertEverywhere("(SELECT string_agg(i::text, ',' ORDER BY i) FROM ix_rows)", "11,12");
            return;
        }
        Sql.execute(cluster.gateway(1), "CREATE INDEX ON ix_rows (ix_outer(i))");
        SQLException e = expectFailure(() -> Sql.execute(cluster.gateway(1), "INSERT INTO ix_rows VALUES (1), (2)"));
        TestCluster.log(WHO, "insert with an index expression's unqualified call: %s %s", e.getSQLState(), e.getMessage());
        assertEquals(e.getMessage(), "0A000", e.getSQLState());
        assertTrue(e.getMessage(), e.getMessage().contains("function ix_inner(integer) does not exist while writing public.ix_rows")
            && e.getMessage().contains("SET search_path"));
        assertEverywhere("(SELECT count(*) FROM ix_rows)", "0");
        // the fix the message names
        Sql.execute(cluster.gateway(2), "ALTER FUNCTION ix_outer(int) SET search_path = public");
        Sql.execute(cluster.gateway(1), "INSERT INTO ix_rows VALUES (1), (2)");
        Sql.execute(cluster.gateway(2), "UPDATE ix_rows SET i = i + 10");
        assertEverywhere("(SELECT string_agg(i::text, ',' ORDER BY i) FROM ix_rows)", "11,12");
    }

    private static void assertEverywhere(String expression, String expected) throws SQLException {
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertEquals(expression + " on node" + id, expected, Sql.scalar(cluster.postgres(id), "SELECT " + expression));
        }
    }

    interface SqlAction {
        void run() throws SQLException;
    }

    static SQLException expectFailure(SqlAction action) {
        try {
            action.run();
        } catch (SQLException e) {
            return e;
        }
        throw new AssertionError("expected an SQLException");
    }
}
