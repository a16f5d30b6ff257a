package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.api.Gid;
import org.mtm.gateway.internal.commit.CoordinatedCommitter;
import org.mtm.testing.Await;

/**
 * Issue 12 through the gateway of an initialised node, on a real PostgreSQL: the session's temporary tables are
 * node-local stand-ins, and what PostgreSQL lets a client write about its temporary schema works on them too —
 * objects created as {@code pg_temp.name} without TEMP, statements naming a stand-in {@code pg_temp.name}, and an
 * explicit {@code pg_temp} in {@code search_path} (the stand-ins searched where PostgreSQL searches its temporary
 * schema) — inside transactions that change replicated tables and commit through the cluster's two-phase path.
 */
public class TemporaryTablesThroughGatewayTest {
    private static final List<Gid> DECIDED = new CopyOnWriteArrayList<>();
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG, true).committer(new CoordinatedCommitter(new DecidingCoordinator(1, 5,
            gid -> {
                DECIDED.add(gid);
                return CompletableFuture.completedFuture(null);
            })));

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @Before
    public void fresh() throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DROP SCHEMA public CASCADE");
            st.execute("CREATE SCHEMA public");
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
        }
        DECIDED.clear();
    }

    private static String scalar(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String direct(String sql) throws SQLException {
        try (Connection c = PG.direct()) {
            return scalar(c, sql);
        }
    }

    /** Relations of stand-in schemas named {@code name}, as persistence:kind. */
    private static String standIns(String name) throws SQLException {
        return direct("SELECT coalesce(string_agg(c.relpersistence::text || ':' || c.relkind::text, ','), '') FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'mtm\\_temp\\_%' AND c.relname = '" + name + "'");
    }

    @Test
    public void pgTempNamesInTheExtendedProtocol() throws Exception {
        try (Connection c = TestPostgres.connect(GW.endpoint()); Statement st = c.createStatement()) {
            // created in pg_temp without TEMP: PostgreSQL makes them temporary, the gateway stand-ins
            st.execute("CREATE TABLE pg_temp.pt (i int)");
            st.execute("CREATE SEQUENCE pg_temp.ps START 10");
            assertEquals("u:r", standIns("pt"));
            assertEquals("u:S", standIns("ps"));
            // later statements name them pg_temp.name, in a transaction that changes a replicated table
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO pg_temp.pt VALUES (1), (2)");
            st.executeUpdate("INSERT INTO t SELECT i + nextval('pg_temp.ps'), 'from pg_temp' FROM pg_temp.pt");
            try (var ps = c.prepareStatement("SELECT count(*) FROM pg_temp.pt WHERE i >= ?")) {
                ps.setInt(1, 2);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertEquals(1, rs.getInt(1));
                }
            }
            c.commit();
            c.setAutoCommit(true);
            assertEquals(1, DECIDED.size()); // through the cluster's two-phase path
            // setval() of a temporary sequence is the session's own: not run on the other nodes, which have none
            assertEquals("100", scalar(c, "SELECT setval('pg_temp.ps', 100)"));
            st.execute("CREATE TEMP SEQUENCE ts");
            assertEquals("7", scalar(c, "SELECT setval('ts', 7)"));
            assertEquals(1, DECIDED.size());
            assertEquals("101", scalar(c, "SELECT nextval('pg_temp.ps')"));
            assertEquals("2", scalar(c, "SELECT count(*) FROM pg_temp.pt"));
            st.execute("DROP TABLE pg_temp.pt");
            assertEquals("", standIns("pt"));
            // PostgreSQL's own temporary objects keep their pg_temp
            st.execute("CREATE FUNCTION pg_temp.plus(i int) RETURNS int LANGUAGE sql AS 'SELECT i + 1'");
            assertEquals("3", scalar(c, "SELECT pg_temp.plus(2)"));
        }
        assertEquals("11:from pg_temp,13:from pg_temp", direct("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM t"));
        assertEquals("0", direct("SELECT count(*) FROM pg_prepared_xacts"));
    }

    @Test
    public void pgTempNamesAndSearchPathInASimpleQuerySession() throws Exception {
        // psql: one session, simple Query messages, some with several statements
        String script = "CREATE VIEW pg_temp.pv AS SELECT 7 AS n;\n"
                + "CREATE TEMP TABLE stage (id int) ON COMMIT DELETE ROWS;\n"
                + "BEGIN;\n"
                + "INSERT INTO pg_temp.stage VALUES (1), (2); INSERT INTO t SELECT id + n, 'staged' FROM pg_temp.stage, pg_temp.pv;\n"
                + "SELECT 'in the transaction: ' || count(*) FROM pg_temp.stage;\n"
                + "COMMIT;\n"
                + "SELECT 'after commit: ' || count(*) FROM pg_temp.stage;\n"
                // an explicit pg_temp first: the stand-ins are searched there, before public
                + "CREATE TEMP TABLE shadow (id int);\n"
                + "SET search_path = pg_temp, public;\n"
                + "CREATE TABLE public.shadow (id int);\n"
                + "INSERT INTO public.shadow VALUES (100);\n"
                + "INSERT INTO shadow VALUES (5);\n"
                + "SELECT 'first on the path: ' || string_agg(id::text, ',') FROM shadow;\n"
                + "SELECT 'public: ' || string_agg(id::text, ',') FROM public.shadow;\n"
                + "SELECT 'path: ' || replace(current_setting('search_path'), (SELECT '\"' || n.nspname || '\"' FROM pg_class c "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'pv'::regclass), 'STAND-IN');\n"
                // last: after public, as PostgreSQL's
                + "SET search_path = public, pg_temp;\n"
                + "SELECT 'last on the path: ' || string_agg(id::text, ',') FROM shadow;\n"
                + "RESET search_path;\n"
                + "SELECT 'reset: ' || (current_setting('search_path') LIKE '\"$user\", public, \"mtm\\_temp\\_%\"');\n"
                + "DISCARD ALL;\n"
                + "SELECT 'after discard: ' || count(*) FROM pg_namespace WHERE nspname LIKE 'mtm\\_temp\\_' || pg_backend_pid() || '\\_%';\n";
        Tools.Result r = Tools.psql(GW.endpoint(), null, script, "-t", "-A");
        assertEquals(r.toString(), 0, r.exitCode());
        List<String> lines = r.stdout().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(r.toString(), List.of("in the transaction: 2", "after commit: 0", "first on the path: 5",
                "public: 100", "path: pg_temp, STAND-IN, public", "last on the path: 100", "reset: true", "after discard: 0"),
                lines);
        assertEquals("8:staged,9:staged", direct("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM t"));
        assertEquals("0", direct("SELECT count(*) FROM pg_prepared_xacts"));
    }

    @Test
    public void pgMyTempSchemaIsTheSchemaOfTheStandIns() throws Exception {
        // json.sql and jsonb.sql of PostgreSQL's regression suite: a temporary table's statistics, found by its schema
        String script = "CREATE TEMP TABLE rows AS SELECT x, 'txt' || x AS y FROM generate_series(1, 3) AS x;\n"
                + "ANALYZE rows;\n"
                + "SELECT 'stats: ' || string_agg(attname || '=' || histogram_bounds::text, ' ' ORDER BY attname) FROM pg_stats "
                + "WHERE tablename = 'rows' AND schemaname = pg_my_temp_schema()::regnamespace::text;\n"
                + "SELECT 'same: ' || (pg_catalog.pg_my_temp_schema() = (SELECT relnamespace FROM pg_class WHERE oid = 'rows'::regclass));\n";
        Tools.Result r = Tools.psql(GW.endpoint(), null, script, "-t", "-A");
        assertEquals(r.toString(), 0, r.exitCode());
        assertEquals(r.toString(), List.of("stats: x={1,2,3} y={txt1,txt2,txt3}", "same: true"),
                r.stdout().lines().filter(l -> l.startsWith("stats") || l.startsWith("same")).toList());
        // the extended protocol (a prepared statement) too
        try (Connection c = TestPostgres.connect(GW.endpoint()); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE mine (i int)");
            try (var ps = c.prepareStatement("SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relname = ?")) {
                ps.setString(1, "mine");
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    assertEquals(1, rs.getInt(1));
                }
            }
        }
    }

    @Test
    public void aViewOverAStandInIsTemporaryAsPostgresMakesIt() throws Exception {
        String script = "CREATE TEMP TABLE kept (id int);\n"
                + "INSERT INTO kept VALUES (1), (2);\n"
                + "CREATE VIEW over_kept AS SELECT id * 10 AS id FROM kept;\n"
                + "CREATE VIEW plain AS SELECT 1 AS kept;\n"
                + "CREATE VIEW public.elsewhere AS SELECT * FROM kept;\n"
                + "BEGIN;\n"
                + "INSERT INTO t SELECT id, 'over a view over a temporary table' FROM over_kept;\n"
                + "COMMIT;\n"
                + "SELECT 'over_kept: ' || (n.nspname LIKE 'mtm\\_temp\\_%') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE c.relname = 'over_kept';\n"
                + "SELECT 'plain: ' || n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'plain';\n"
                // a session with PostgreSQL temporary objects: PostgreSQL's own temporary view (it may read them)
                + "SELECT 1 AS n INTO TEMP native;\n"
                + "CREATE VIEW over_both AS SELECT * FROM kept, native;\n"
                + "SELECT 'over_both: ' || (n.nspname LIKE 'pg\\_temp\\_%') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE c.relname = 'over_both';\n";
        Tools.Result r = Tools.psql(GW.endpoint(), null, script, "-t", "-A", "-v", "ON_ERROR_STOP=0");
        assertEquals(r.toString(), List.of("over_kept: true", "plain: public", "over_both: true"),
                r.stdout().lines().filter(l -> !l.isBlank()).toList());
        // PostgreSQL's NOTICE, and its error for a temporary view in a permanent schema
        assertEquals(r.toString(), List.of("NOTICE:  view \"over_kept\" will be a temporary view",
                "NOTICE:  view \"elsewhere\" will be a temporary view",
                "ERROR:  cannot create temporary relation in non-temporary schema",
                "NOTICE:  view \"over_both\" will be a temporary view"),
                r.stderr().lines().filter(l -> l.contains("NOTICE") || l.contains("ERROR")).toList());
        assertEquals("10:over a view over a temporary table,20:over a view over a temporary table",
                direct("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM t"));
        assertEquals("0", direct("SELECT count(*) FROM pg_prepared_xacts"));
    }

    @Test
    public void aTemporaryTableCannotBeAPartitionOfAPermanentOne() throws Exception {
        // rows routed to it would stay on this node (a stand-in is not replicated): refused as PostgreSQL refuses it
        try (Connection c = TestPostgres.connect(GW.endpoint()); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE pp (a int) PARTITION BY LIST (a)");
            SQLException created = org.junit.Assert.assertThrows(SQLException.class,
                    () -> st.execute("CREATE TEMP TABLE tp PARTITION OF pp FOR VALUES IN (1)"));
            assertEquals("42809", created.getSQLState());
            assertTrue(created.getMessage(), created.getMessage().contains(
                    "cannot create a temporary relation as partition of permanent relation \"pp\""));
            st.execute("CREATE TEMP TABLE tc (a int)");
            SQLException attached = org.junit.Assert.assertThrows(SQLException.class,
                    () -> st.execute("ALTER TABLE pp ATTACH PARTITION tc FOR VALUES IN (2)"));
            assertEquals("42809", attached.getSQLState());
            assertTrue(attached.getMessage(), attached.getMessage().contains(
                    "cannot attach a temporary relation as partition of permanent relation \"pp\""));
            // among temporary tables it works, as in PostgreSQL
            st.execute("CREATE TEMP TABLE tparent (a int) PARTITION BY LIST (a)");
            st.execute("CREATE TEMP TABLE tchild PARTITION OF tparent FOR VALUES IN (1)");
            st.execute("INSERT INTO tparent VALUES (1)");
            assertEquals("1", scalar(c, "SELECT count(*) FROM tchild"));
        }
        assertEquals("0", direct("SELECT count(*) FROM pg_inherits WHERE inhparent = 'pp'::regclass"));
    }

    @Test
    public void aRoutineOfATemporaryTablesRowTypeIsThisNodesOnlyAndGoesWithTheTable() throws Exception {
        // the other nodes have no such type (rangefuncs, returning, rowtypes of the regression suite): the routine is
        // made here only (a mtm.ddl_local message tells the other nodes), as PostgreSQL drops it with the temporary
        // table; a body that only reads the temporary table is an ordinary routine
        try (Connection c = TestPostgres.connect(GW.endpoint()); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE users (userid text, seq int)");
            st.execute("INSERT INTO users VALUES ('id', 1)");
            st.execute("CREATE FUNCTION get_first_user() RETURNS users LANGUAGE sql STABLE AS $$ SELECT * FROM users LIMIT 1 $$");
            st.execute("CREATE FUNCTION all_users() RETURNS SETOF users LANGUAGE sql AS $$ SELECT * FROM users $$");
            st.execute("CREATE FUNCTION user_id(u users) RETURNS text LANGUAGE sql AS $$ SELECT u.userid $$");
            st.execute("CREATE FUNCTION user_ids(u users[]) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$");
            st.execute("CREATE FUNCTION count_users() RETURNS int8 LANGUAGE sql AS $$ SELECT count(*) FROM users $$");
            assertEquals("1", scalar(c, "SELECT count_users()"));
            assertEquals("id", scalar(c, "SELECT (get_first_user()).userid"));
            assertEquals("id", scalar(c, "SELECT user_id(u) FROM users u"));
            st.execute("COMMENT ON FUNCTION all_users() IS 'this node''s only'");
            st.execute("DROP FUNCTION user_id(users)");
            SQLException mixed = org.junit.Assert.assertThrows(SQLException.class,
                    () -> st.execute("DROP FUNCTION all_users(), count_users()"));
            assertEquals("0A000", mixed.getSQLState());
            assertTrue(mixed.getMessage(), mixed.getMessage().contains("Drop them in two statements")
                    || String.valueOf(((org.postgresql.util.PSQLException) mixed).getServerErrorMessage()).contains("two statements"));
            st.execute("DROP FUNCTION all_users()");
        }
        // the session's end dropped the stand-in and the routines of its row type with it
        Await.until(java.time.Duration.ofSeconds(10), "the routines of users gone", () -> direct("SELECT count(*) FROM pg_proc"
                + " WHERE proname IN ('get_first_user', 'all_users', 'user_id', 'user_ids', 'count_users')").equals("1"));
    }

    @Test
    public void aPermanentTableLikeATemporaryOneIsMadeWithTheClientsStatementHere() throws Exception {
        // the other nodes have no such source (copy2 of the regression suite): they are given its columns written out
        // (mtm.like_text, below); the origin runs the client's statement
        try (Connection c = TestPostgres.connect(GW.endpoint()); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE testeoc (a int NOT NULL, \"B c\" text COLLATE \"C\", n numeric(10,2), w varchar(5)[],"
                    + " d int DEFAULT 3, k int CHECK (k > 0))");
            st.execute("CREATE TABLE vistest (/* LIKE x, */ LIKE testeoc, LIKE t INCLUDING ALL EXCLUDING INDEXES)");
            // an option the other nodes would need the source's objects for: refused, naming it
            SQLException e = org.junit.Assert.assertThrows(SQLException.class,
                    () -> st.execute("CREATE TABLE vistest2 (LIKE testeoc INCLUDING DEFAULTS)"));
            assertEquals("0A000", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains("(LIKE testeoc INCLUDING DEFAULTS) is not supported: testeoc is"
                    + " temporary, which is on this node only, so the other nodes are given its columns written out, and its"
                    + " column defaults cannot be"));
            e = org.junit.Assert.assertThrows(SQLException.class,
                    () -> st.execute("CREATE TABLE vistest2 (LIKE testeoc INCLUDING ALL EXCLUDING DEFAULTS)"));
            assertTrue(e.getMessage(), e.getMessage().contains("(LIKE testeoc INCLUDING CONSTRAINTS) is not supported"));
            st.execute("CREATE TEMP TABLE plain (a int)");
            st.execute("CREATE TABLE vistest3 (LIKE plain INCLUDING ALL)"); // nothing to copy but the columns
            st.execute("CREATE TEMP TABLE vistemp (LIKE testeoc)"); // and a temporary copy
        }
        assertEquals("a:integer:true:,B c:text:false:C,n:numeric(10,2):false:,w:character varying(5)[]:false:,d:integer:false:,"
                + "k:integer:false:,id:integer:true:,v:text:false:", direct("SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod)"
                + " || ':' || attnotnull || ':' || CASE WHEN attcollation NOT IN (0, 100) THEN (SELECT collname FROM pg_collation"
                + " WHERE oid = attcollation) ELSE '' END, ',' ORDER BY attnum) FROM pg_attribute"
                + " WHERE attrelid = 'vistest'::regclass AND attnum > 0"));
        assertEquals("1", direct("SELECT count(*) FROM pg_class WHERE relname = 'vistest3'"));
    }

    @Test
    public void theTextTheOtherNodesRunForALikeOfATemporaryTable() throws Exception {
        // mtm.like_text, which the gateway calls in the DDL message's statement, with the text the classifier cut
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE \"S t\" (a int NOT NULL, b text COLLATE \"C\", c numeric(10,2), d varchar(5)[],"
                    + " e text COMPRESSION pglz)");
            st.execute("CREATE TEMP TABLE nocols ()");
            st.execute("CREATE TABLE perm (x int)");
            String sql = "CREATE TABLE p (-- LIKE x,\n LIKE pg_temp.\"S t\" INCLUDING COMPRESSION, LIKE perm INCLUDING ALL, f int)";
            // the element's text, a comment before it too, is replaced
            assertEquals("CREATE TABLE p (a integer NOT NULL, b text COLLATE pg_catalog.\"C\","
                    + " c numeric(10,2), d character varying(5)[], e text COMPRESSION pglz, LIKE perm INCLUDING ALL, f int)",
                    likeText(c, sql));
            assertEquals("CREATE TABLE p (a integer NOT NULL, b text COLLATE pg_catalog.\"C\", c numeric(10,2),"
                    + " d character varying(5)[], e text)", likeText(c, "CREATE TABLE p (LIKE \"S t\")"));
            // a source without columns goes with a comma beside it
            assertEquals("CREATE TABLE p (f int)", likeText(c, "CREATE TABLE p (LIKE nocols, f int)"));
            assertEquals("CREATE TABLE p (f int)", likeText(c, "CREATE TABLE p (f int, LIKE nocols)"));
            assertEquals("CREATE TABLE p ()", likeText(c, "CREATE TABLE p (LIKE nocols, LIKE nocols)"));
            // no node-local source: the text as written
            sql = "CREATE TABLE p (LIKE  perm /* c */)";
            assertEquals(sql, likeText(c, sql));
        }
    }

    /** What mtm.like_text gives the other nodes for {@code sql} in the session of {@code c}. */
    private static String likeText(Connection c, String sql) throws SQLException {
        org.mtm.gateway.internal.sql.LikeElements l = org.mtm.gateway.internal.sql.SqlSplitter.classifyOne(sql, true)
                .replication().like();
        try (java.sql.PreparedStatement ps = c.prepareStatement("SELECT mtm.like_text(?, ?, ?, ?, ?)")) {
            ps.setString(1, sql);
            ps.setArray(2, c.createArrayOf("text", l.sources().toArray()));
            ps.setArray(3, c.createArrayOf("text", l.elements().toArray()));
            ps.setArray(4, c.createArrayOf("text", l.including().toArray()));
            ps.setArray(5, c.createArrayOf("text", l.between().toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    @Test
    public void anotherSessionDoesNotSeeTheStandIns() throws Exception {
        try (Connection mine = TestPostgres.connect(GW.endpoint()); Statement st = mine.createStatement();
                Connection other = TestPostgres.connect(GW.endpoint())) {
            st.execute("CREATE TEMP TABLE secret (i int)");
            st.execute("CREATE TABLE pg_temp.secret2 (i int)");
            assertEquals("t", scalar(other, "SELECT to_regclass('secret') IS NULL AND to_regclass('secret2') IS NULL"));
            // pg_temp of the other session is its own
            assertEquals("t", scalar(other, "SELECT to_regclass('pg_temp.secret') IS NULL"));
            assertTrue(scalar(mine, "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = to_regclass('secret')")
                    .startsWith("mtm_temp_"));
            assertEquals("0", scalar(mine, "SELECT count(*) FROM pg_temp.secret2"));
            assertEquals("u:r", standIns("secret2"));
        }
    }

    @Test
    public void aRoleWithTheTemporaryPrivilegeButNotCreateMakesTemporaryTables() throws Exception {
        // PostgreSQL 15 gives PUBLIC TEMPORARY on a database and CREATE only to its owner; the stand-in schema was made
        // with the client's own rights: "permission denied for database" (regression files privileges, maintain_every)
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DO $$BEGIN CREATE ROLE temp_only LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$");
            st.execute("GRANT SELECT, INSERT ON t TO temp_only");
            st.execute("GRANT USAGE ON SCHEMA public TO temp_only");
        }
        try (Connection c = TestPostgres.connect(GW.endpoint(), "user", "temp_only"); Statement st = c.createStatement()) {
            assertEquals("f", scalar(c, "SELECT has_database_privilege(current_database(), 'CREATE')"));
            st.execute("CREATE TEMP TABLE staged (id int)");
            c.setAutoCommit(false);
            st.execute("INSERT INTO staged VALUES (41), (42)");
            st.execute("INSERT INTO t SELECT id, 'by temp_only' FROM staged");
            c.commit();
            c.setAutoCommit(true);
            // the stand-in is the role's, its schema the cluster user's (as PostgreSQL's temporary schema is)
            assertEquals("temp_only:" + TestPostgres.USER, scalar(c, "SELECT c.relowner::regrole::text || ':' || "
                    + "n.nspowner::regrole::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    + "WHERE c.oid = to_regclass('staged')"));
        }
        assertEquals("41:by temp_only,42:by temp_only", direct("SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM t"));
        // without TEMPORARY, PostgreSQL's own refusal
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("REVOKE TEMPORARY ON DATABASE " + TestPostgres.DATABASE + " FROM PUBLIC");
        }
        try (Connection c = TestPostgres.connect(GW.endpoint(), "user", "temp_only"); Statement st = c.createStatement()) {
            SQLException refused = org.junit.Assert.assertThrows(SQLException.class, () -> st.execute("CREATE TEMP TABLE refused (id int)"));
            assertEquals(refused.getMessage(), "42501", refused.getSQLState());
            assertTrue(refused.getMessage(), refused.getMessage().contains(
                    "permission denied to create temporary tables in database \"" + TestPostgres.DATABASE + "\""));
        } finally {
            try (Connection c = PG.direct(); Statement st = c.createStatement()) {
                st.execute("GRANT TEMPORARY ON DATABASE " + TestPostgres.DATABASE + " TO PUBLIC");
            }
        }
    }

    @Test
    public void dropRoleAfterItsTemporaryTablesAreGoneAsOnPostgres() throws Exception {
        // the regression files cluster, maintain_every, publication: a session SETs ROLE (or SESSION AUTHORIZATION)
        // to a role, makes and drops temporary tables, goes back and drops the role. The stand-in schema was the
        // role's until the session ended: "role ... cannot be dropped ... owner of schema mtm_temp_..."
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DO $$BEGIN CREATE ROLE temp_dropped; EXCEPTION WHEN duplicate_object THEN NULL; END$$");
            st.execute("DO $$BEGIN CREATE ROLE temp_other; EXCEPTION WHEN duplicate_object THEN NULL; END$$");
        }
        String schema;
        try (Connection c = TestPostgres.connect(GW.endpoint()); Statement st = c.createStatement()) {
            st.execute("SET ROLE temp_dropped");
            st.execute("CREATE TEMP TABLE mine (id int PRIMARY KEY)");
            st.execute("INSERT INTO mine VALUES (1)");
            assertEquals("temp_dropped", scalar(c, "SELECT relowner::regrole::text FROM pg_class WHERE oid = 'mine'::regclass"));
            schema = scalar(c, "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'mine'::regclass");
            // nobody else may use the schema
            st.execute("SET ROLE temp_other");
            SQLException denied = org.junit.Assert.assertThrows(SQLException.class,
                    () -> st.execute("SELECT * FROM " + schema + ".mine"));
            assertEquals(denied.getMessage(), "42501", denied.getSQLState());
            st.execute("RESET ROLE");
            // while the role owns a temporary table, PostgreSQL refuses DROP ROLE naming the table; DROP OWNED drops it
            SQLException owner = org.junit.Assert.assertThrows(SQLException.class, () -> st.execute("DROP ROLE temp_dropped"));
            assertEquals(owner.getMessage(), "2BP01", owner.getSQLState());
            assertTrue(owner.getMessage(), owner.getMessage().contains("owner of table mine"));
            assertTrue(owner.getMessage(), !owner.getMessage().contains("owner of schema"));
            st.execute("DROP OWNED BY temp_dropped");
            assertEquals("", standIns("mine"));
            st.execute("DROP ROLE temp_dropped");
            // the session goes on making stand-ins, as another role too
            st.execute("CREATE TEMP TABLE after_drop (id int)");
            st.execute("SET ROLE temp_other");
            st.execute("CREATE TEMP TABLE as_other (id int)");
            st.execute("INSERT INTO as_other VALUES (2)");
            assertEquals("2", scalar(c, "SELECT id FROM as_other"));
            st.execute("DROP TABLE as_other");
            st.execute("RESET ROLE");
        }
        // after the session the sweep drops the schema and the role through which the session's roles used it
        String left = "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema + "') + "
                + "(SELECT count(*) FROM pg_roles WHERE rolname = '" + schema + "')";
        Await.equal(30_000, "the sweep drops " + schema + " and its role", "0", () -> direct(left));
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DROP ROLE temp_other");
        }
    }

    @Test
    public void aTemporaryTableMadeFromAPgTempNameReadsTheStandIn() throws Exception {
        // CREATE TEMP TABLE y AS ... FROM pg_temp.x: the gateway took the query's pg_temp for the CREATE's own name
        // and left it, so PostgreSQL looked in its own temporary schema ("relation "pg_temp.x" does not exist")
        try (Connection c = TestPostgres.connect(GW.endpoint(), "preferQueryMode", "simple"); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE x (i int)");
            st.execute("INSERT INTO x VALUES (1), (2)");
            st.execute("CREATE TEMP TABLE y AS SELECT * FROM pg_temp.x");
            st.execute("CREATE TEMP VIEW v AS SELECT * FROM pg_temp.x WHERE i > 1");
            assertEquals("3:2", scalar(c, "SELECT (SELECT sum(i) FROM y) || ':' || (SELECT sum(i) FROM v)"));
            assertEquals("u:r", standIns("y"));
        }
        try (Connection c = TestPostgres.connect(GW.endpoint()); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE x (i int)");
            st.execute("INSERT INTO x VALUES (5)");
            st.execute("CREATE TEMP TABLE y AS SELECT * FROM pg_temp.x");
            assertEquals("5", scalar(c, "SELECT sum(i) FROM y"));
        }
    }

    /** Replies of each query, one session, as type SQLSTATE message per message (RowDescription etc. left out). */
    private static List<String> session(org.mtm.api.Endpoint at, String... queries) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        try (RawClient c = RawClient.open(at)) {
            for (String q : queries) {
                c.query(q).flush();
                for (RawClient.Msg m : c.readUntilReady()) {
                    switch (m.type()) {
                        case 'C' -> out.add("C " + m.text());
                        case 'E', 'N' -> out.add(m.type() + " " + m.field('C') + " " + m.field('M'));
                        case 'Z' -> out.add("Z " + m.status());
                        default -> { }
                    }
                }
            }
        }
        return out;
    }

    @Test
    public void aViewOverATemporaryTableAnswersAsOnPostgresAlsoWhenItFails() throws Exception {
        String[] queries = {
            "CREATE TEMP TABLE tv (i int)",
            "CREATE VIEW v_bad AS SELECT nosuch FROM tv", // refused while the query is analysed: no NOTICE
            "CREATE VIEW v_cols (a, b) AS SELECT i FROM tv",
            "CREATE VIEW v_ok AS SELECT i FROM tv",
            "CREATE VIEW v_ok AS SELECT i FROM tv", // refused after PostgreSQL's NOTICE
            "CREATE VIEW public.v_pub AS SELECT i FROM tv", // (not a temporary schema)
            "CREATE OR REPLACE VIEW v_ok AS SELECT i AS j FROM tv", // (a column renamed)
            "SELECT count(*) FROM v_ok",
        };
        assertEquals(session(PG.endpoint(), queries), session(GW.endpoint(), queries));
    }

    @Test
    public void discardTempOfARoleDropsItsStandInsAndTheyComeBackQuietly() throws Exception {
        // the schema is the cluster user's: DISCARD by a role that is not a superuser must still drop it
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DO $$BEGIN CREATE ROLE temp_discard LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$");
        }
        for (String mode : new String[] {"extended", "simple"}) {
            try (Connection c = TestPostgres.connect(GW.endpoint(), "user", "temp_discard", "preferQueryMode", mode);
                 Statement st = c.createStatement()) {
                st.execute("CREATE TEMP TABLE gone (id int)");
                assertEquals("u:r", standIns("gone"));
                st.execute("DISCARD TEMP");
                assertEquals("", standIns("gone"));
                st.execute("CREATE TEMP TABLE back (id int)");
                assertEquals(null, st.getWarnings()); // no NOTICE of the gateway's own grants
                st.execute("INSERT INTO back VALUES (1)");
                assertEquals("1", scalar(c, "SELECT count(*) FROM back"));
                st.execute("DISCARD ALL");
                assertEquals("", standIns("back"));
            }
        }
    }
}
