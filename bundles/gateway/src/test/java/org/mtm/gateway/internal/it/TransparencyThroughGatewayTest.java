package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.api.Endpoint;
import org.mtm.gateway.internal.commit.CoordinatedCommitter;
import org.postgresql.util.PSQLException;

/**
 * Issue 8 part 5, the gateway as a client sees PostgreSQL: the same psql script on one server, once in a database of
 * its own directly and once through a gateway of an initialised node (autocommit wrapping, two-phase commits),
 * prints the same — error cursor positions (the gateway's BEGIN and its split of a query do not move them), NOTICEs
 * of deferred triggers at COMMIT and of autocommit statements, and pg_prepared_statements with the client's
 * statements only; and pgjdbc (extended protocol) gets the same error positions.
 */
public class TransparencyThroughGatewayTest {
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG, true).committer(new CoordinatedCommitter(new DecidingCoordinator(1, 5,
            gid -> CompletableFuture.completedFuture(null))));
    private static final String DIRECT_DB = "direct_twin";

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @BeforeClass
    public static void twin() throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + DIRECT_DB + " TEMPLATE template0");
        }
    }

    private static final String SCRIPT = "CREATE TABLE t5 (id int PRIMARY KEY, v text);\n"
            + "CREATE FUNCTION tn() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'deferred trigger on %', NEW.id; "
            + "RETURN NULL; END$$;\n"
            + "CREATE CONSTRAINT TRIGGER t5d AFTER INSERT ON t5 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tn();\n"
            + "BEGIN;\nINSERT INTO t5 VALUES (1, 'a');\nCOMMIT;\n"
            + "INSERT INTO t5 VALUES (2, 'b');\n"
            + "INSERT INTO t5 VALUES ('x', 'b');\n"
            + "SELECT 1; INSERT INTO t5 VALUES (3, 'c'), ('y', 'b');\n"
            + "CREATE TABLE t6 (i int); INSERT INTO t6 VALUES ('z');\n"
            + "BEGIN;\nINSERT INTO t5 VALUES ('w', 'b');\nROLLBACK;\n"
            + "PREPARE p1 AS SELECT 1;\n"
            + "SELECT name, statement FROM pg_prepared_statements;\n"
            + "SELECT id, v FROM t5 ORDER BY id;\n";

    private static Tools.Result psql(Endpoint at, String database) {
        return psql(at, database, SCRIPT);
    }

    private static Tools.Result psql(Endpoint at, String database, String script) {
        return Tools.run(List.of(Tools.BIN.resolve("psql").toString(), "-X", "-a", "-d", "host=" + at.host() + " port="
                + at.port() + " dbname=" + database + " user=" + TestPostgres.USER), java.util.Map.of(), script,
                java.time.Duration.ofSeconds(30));
    }

    /** The AND CHAIN part of PostgreSQL 15's regression file {@code transactions}. */
    private static final String CHAIN_SCRIPT = "CREATE TABLE trans_abc (a int);\n"
            + "SET default_transaction_read_only = on;\n"
            + "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE, DEFERRABLE;\n"
            + "INSERT INTO trans_abc VALUES (1);\n"
            + "COMMIT AND CHAIN;\n"
            + "SHOW transaction_isolation;\nSHOW transaction_read_only;\nSHOW transaction_deferrable;\n"
            + "INSERT INTO trans_abc VALUES ('error');\n"
            + "COMMIT AND CHAIN;  -- TBLOCK_ABORT_END\n"
            + "SHOW transaction_isolation;\nSHOW transaction_read_only;\nSHOW transaction_deferrable;\n"
            + "INSERT INTO trans_abc VALUES (4);\n"
            + "COMMIT;\n"
            + "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE, DEFERRABLE;\n"
            + "SAVEPOINT x;\n"
            + "INSERT INTO trans_abc VALUES ('error');\n"
            + "COMMIT AND CHAIN;  -- TBLOCK_ABORT_PENDING\n"
            + "SHOW transaction_isolation;\nSHOW transaction_read_only;\nSHOW transaction_deferrable;\n"
            + "INSERT INTO trans_abc VALUES (5);\n"
            + "COMMIT;\n"
            + "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE, NOT DEFERRABLE;\n"
            + "INSERT INTO trans_abc VALUES (6);\n"
            + "ROLLBACK AND CHAIN;  -- TBLOCK_ABORT_PENDING\n"
            + "SHOW transaction_isolation;\nSHOW transaction_read_only;\nSHOW transaction_deferrable;\n"
            + "INSERT INTO trans_abc VALUES ('error');\n"
            + "ROLLBACK AND CHAIN;  -- TBLOCK_ABORT_END\n"
            + "SHOW transaction_isolation;\nSHOW transaction_read_only;\nSHOW transaction_deferrable;\n"
            + "INSERT INTO trans_abc VALUES (7);\n"
            + "COMMIT;\n"
            + "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE;\n"
            + "INSERT INTO trans_abc VALUES (8);\n"
            + "COMMIT AND CHAIN;\n"
            + "INSERT INTO trans_abc VALUES ('error');\n"
            + "ROLLBACK AND CHAIN;\n"
            + "SHOW transaction_isolation;\nSHOW transaction_read_only;\n"
            + "INSERT INTO trans_abc VALUES (9);\n"
            + "COMMIT;\n"
            + "RESET default_transaction_read_only;\n"
            + "START TRANSACTION ISOLATION LEVEL REPEATABLE READ\\; INSERT INTO trans_abc VALUES (15)\\; COMMIT AND CHAIN;\n"
            + "SHOW transaction_isolation;\n"
            + "COMMIT;\n"
            + "SELECT * FROM trans_abc ORDER BY 1;\n";

    @Test
    public void andChainAfterAFailedBlockBeginsALikeTransaction() {
        Tools.Result direct = psql(PG.endpoint(), DIRECT_DB, CHAIN_SCRIPT);
        Tools.Result through = psql(GW.endpoint(), TestPostgres.DATABASE, CHAIN_SCRIPT);
        assertEquals(direct.stdout(), through.stdout());
        assertEquals(direct.stderr(), through.stderr());
        // what it compares is there: the chained transactions after failed blocks are READ WRITE (4, 5, 7 and 9 committed)
        assertEquals(direct.stdout(), true, direct.stdout().contains(" a  \n----\n  1\n  4\n  5\n  7\n  8\n  9\n 15\n(7 rows)"));
    }

    @Test
    public void aPsqlScriptPrintsWhatPostgresPrints() {
        Tools.Result direct = psql(PG.endpoint(), DIRECT_DB);
        Tools.Result through = psql(GW.endpoint(), TestPostgres.DATABASE);
        assertEquals(direct.stdout(), through.stdout());
        assertEquals(direct.stderr(), through.stderr());
        // what it compares is there
        for (String line : List.of("NOTICE:  deferred trigger on 1", "NOTICE:  deferred trigger on 2",
                "ERROR:  invalid input syntax for type integer: \"y\"")) {
            assertEquals(line, true, through.stderr().contains(line));
        }
    }

    /**
     * A table without a primary key gets REPLICA IDENTITY FULL from the cluster (its publication is FOR ALL TABLES);
     * psql's {@code \\d+} does not show it as a {@code Replica Identity: FULL} footer, and a primary key added later
     * brings the default identity back, as on PostgreSQL (the regression suite's {@code \\d+} outputs).
     */
    @Test
    public void describeShowsTheReplicaIdentityAsPostgresDoes() throws SQLException {
        String script = "CREATE TABLE rit (a int NOT NULL, b text);\n"
                + "\\d+ rit\n"
                + "ALTER TABLE rit ADD PRIMARY KEY (a);\n"
                + "\\d+ rit\n"
                + "SELECT relreplident FROM pg_class WHERE relname = 'rit';\n"
                + "DROP TABLE rit;\n";
        Tools.Result direct = psql(PG.endpoint(), DIRECT_DB, script);
        Tools.Result through = psql(GW.endpoint(), TestPostgres.DATABASE, script);
        assertEquals(direct.stdout(), through.stdout());
        assertEquals(direct.stderr(), through.stderr());
        // what it compares is there: the cluster made the table FULL, psql through the gateway did not show it
        assertEquals(through.stdout(), false, through.stdout().contains("Replica Identity"));
        Tools.Result bare = psql(PG.endpoint(), TestPostgres.DATABASE, "CREATE TABLE rit2 (a int);\n");
        assertEquals(bare.toString(), 0, bare.exitCode());
        Tools.Result full = psql(GW.endpoint(), TestPostgres.DATABASE, "CREATE TABLE rit3 (a int);\n"
                + "SELECT relreplident FROM pg_class WHERE relname = 'rit3';\nDROP TABLE rit2, rit3;\n");
        assertEquals(full.stdout(), true, full.stdout().contains("\n f\n"));
    }

    /**
     * The cluster's publication (FOR ALL TABLES) is not listed under a table by psql's {@code \\d+}; another FOR ALL
     * TABLES publication is, as on PostgreSQL.
     */
    @Test
    public void describeDoesNotListTheClustersPublication() throws SQLException {
        String script = "CREATE TABLE pubt (a int PRIMARY KEY, b text);\n"
                + "\\d+ pubt\n"
                + "CREATE PUBLICATION users_pub FOR ALL TABLES;\n"
                + "\\d+ pubt\n"
                + "DROP PUBLICATION users_pub;\n"
                + "DROP TABLE pubt;\n";
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("CREATE PUBLICATION " + org.mtm.api.Replication.PUBLICATION + " FOR ALL TABLES");
        }
        try {
            Tools.Result direct = psql(PG.endpoint(), DIRECT_DB, script);
            Tools.Result through = psql(GW.endpoint(), TestPostgres.DATABASE, script);
            assertEquals(direct.stdout(), through.stdout());
            assertEquals(direct.stderr().replace("WARNING:  wal_level is insufficient to publish logical changes\n"
                    + "HINT:  Set wal_level to \"logical\" before creating publications.\n", ""),
                    through.stderr().replace("WARNING:  wal_level is insufficient to publish logical changes\n"
                    + "HINT:  Set wal_level to \"logical\" before creating publications.\n", ""));
            // what it compares is there: the user's publication listed, and the cluster's on PostgreSQL itself
            assertEquals(through.stdout(), true, through.stdout().contains("Publications:\n    \"users_pub\"\n"));
            Tools.Result bare = psql(PG.endpoint(), TestPostgres.DATABASE, "CREATE TABLE pubt2 (a int);\n\\d+ pubt2\nDROP TABLE pubt2;\n");
            assertEquals(bare.stdout(), true, bare.stdout().contains("Publications:\n    \"mtm_publication\"\n"));
        } finally {
            try (Connection c = PG.direct(); Statement st = c.createStatement()) {
                st.execute("DROP PUBLICATION " + org.mtm.api.Replication.PUBLICATION);
            }
        }
    }

    /** The regression files guc and sysviews: pg_cursors holds the client's cursors only. */
    @Test
    public void pgCursorsShowsTheClientsCursorsOnly() {
        String script = "SELECT name FROM pg_cursors;\n"
                + "BEGIN;\nDECLARE foo CURSOR FOR SELECT 1;\nSELECT name FROM pg_cursors;\nCOMMIT;\n"
                + "SELECT count(*) = 0 AS ok FROM pg_cursors;\n";
        Tools.Result direct = psql(PG.endpoint(), DIRECT_DB, script);
        Tools.Result through = psql(GW.endpoint(), TestPostgres.DATABASE, script);
        assertEquals(direct.stdout(), through.stdout());
        assertEquals(direct.stdout(), true, direct.stdout().contains(" name \n------\n foo\n(1 row)"));
    }

    /** The error position pgjdbc reports for {@code sql} run at {@code at} (autocommit, then in a transaction). */
    private static List<Integer> positions(Endpoint at, String database, String sql) throws SQLException {
        List<Integer> out = new ArrayList<>();
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + at.host() + ":" + at.port() + "/"
                + database + "?user=" + TestPostgres.USER); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS pos (id int PRIMARY KEY)");
            for (boolean autocommit : new boolean[] {true, false}) {
                c.setAutoCommit(autocommit);
                PSQLException e = assertThrows(PSQLException.class, () -> st.execute(sql));
                out.add(e.getServerErrorMessage().getPosition());
                if (!autocommit) {
                    c.rollback();
                }
            }
        }
        return out;
    }

    /**
     * Statements the gateway rewrites — CREATE TEMP TABLE/VIEW as stand-ins, pg_temp names of stand-ins qualified —
     * show PostgreSQL's error cursor where PostgreSQL shows it, in characters (the regression file {@code errors},
     * {@code functional_deps}; multibyte text before the error).
     */
    @Test
    public void errorPositionsOfRewrittenStatementsAreThoseOfPostgres() {
        String script = "CREATE TEMP TABLE tp1 (id int, v text);\n"
                + "CREATE\nTEMPORARY\nTABLE\nfoo(id INT4 UNIQUE NOT NULL, id2 TEXT NOT NULL PRIMARY KEY, id3 INTEGER NOT NUL,\n"
                + "id4 INT4\nUNIQUE\nNOT\nNULL);\n"
                + "SELECT 'äöü€😀' AS x; CREATE TEMP TABLE tü (a text DEFAULT 'ß😀', b nosuchtype) ON COMMIT DROP;\n"
                + "CREATE TEMP VIEW fdv1 AS\nSELECT id, v\nFROM tp1\nGROUP BY v;\n"
                + "CREATE TEMP TABLE tp2 ON COMMIT DELETE ROWS AS SELECT 'é' AS e, nosuchcol FROM tp1;\n"
                + "SELECT 'ä€', nope FROM pg_temp.tp1;\n"
                + "INSERT INTO pg_temp.tp1 VALUES (1, 'ü'), ('zwei', 'x');\n";
        Tools.Result direct = psql(PG.endpoint(), DIRECT_DB, script);
        Tools.Result through = psql(GW.endpoint(), TestPostgres.DATABASE, script);
        assertEquals(direct.stdout(), through.stdout());
        assertEquals(direct.stderr(), through.stderr());
        // what it compares is there: a cursor under the misspelt NUL, and the table was a stand-in
        assertEquals(direct.stderr(), true, direct.stderr().contains("LINE 4: ...OT NULL, id2 TEXT NOT NULL PRIMARY KEY, "
                + "id3 INTEGER NOT NUL,\n"));
        assertEquals(6, direct.stderr().split("\\^").length - 1);
    }

    /**
     * What PostgreSQL refuses of temporary and permanent relations mixed, the cluster's event triggers refuse for
     * stand-ins with PostgreSQL's message: without their CONTEXT line the client sees PostgreSQL's error (the regression
     * files create_table, inherit, publication).
     */
    @Test
    public void refusalsOfTheClustersTriggersLookLikePostgres() {
        String script = "create table perm_parted (a int) partition by list (a);\n"
                + "create temporary table temp_parted (a int) partition by list (a);\n"
                + "create table perm_part partition of temp_parted default; -- error\n"
                + "create temp table temp_part partition of perm_parted default; -- error\n"
                + "create table inh_perm_parent (a1 int);\n"
                + "create temp table inh_temp_parent (a1 int);\n"
                + "create table inh_perm_child () inherits (inh_temp_parent); -- error\n"
                + "drop table perm_parted, inh_perm_parent cascade;\n";
        Tools.Result direct = psql(PG.endpoint(), DIRECT_DB, script);
        Tools.Result through = psql(GW.endpoint(), TestPostgres.DATABASE, script);
        assertEquals(direct.stdout(), through.stdout());
        assertEquals(direct.stderr(), through.stderr());
        assertEquals(direct.stderr(), true, direct.stderr().contains("ERROR:  cannot inherit from temporary relation \"inh_temp_parent\""));
    }

    /** The same in the extended protocol (pgjdbc): at Parse (syntax) and at Execute (a utility statement's analysis). */
    @Test
    public void errorPositionsOfRewrittenStatementsInTheExtendedProtocol() throws SQLException {
        for (String sql : List.of("CREATE TEMP TABLE tpx (a int, b text NOT NUL)", "CREATE TEMP TABLE tpü (a text DEFAULT 'ü€', b nosuchtype)",
                "CREATE TEMP TABLE tpy ON COMMIT DROP AS SELECT 'é' AS e, nosuchcol")) {
            List<Integer> direct = positions(PG.endpoint(), DIRECT_DB, sql);
            assertEquals(sql, direct, positions(GW.endpoint(), TestPostgres.DATABASE, sql));
        }
        // a stand-in named pg_temp.name in the statement too: qualified, then rewritten
        String sql = "CREATE TEMP TABLE pg_temp.tqz (LIKE pg_temp.tq0, e text DEFAULT 'é€', b nosuchtype)";
        assertEquals(afterStandIn(PG.endpoint(), DIRECT_DB, sql), afterStandIn(GW.endpoint(), TestPostgres.DATABASE, sql));
    }

    /** The error position of {@code sql} after the session made temporary table tq0. */
    private static Integer afterStandIn(Endpoint at, String database, String sql) throws SQLException {
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + at.host() + ":" + at.port() + "/"
                + database + "?user=" + TestPostgres.USER); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE tq0 (a int)");
            PSQLException e = assertThrows(PSQLException.class, () -> st.execute(sql));
            return e.getServerErrorMessage().getPosition();
        }
    }

    @Test
    public void errorPositionsInTheExtendedProtocolAreThoseOfPostgres() throws SQLException {
        String sql = "INSERT INTO pos VALUES (1), ('not a number')";
        List<Integer> direct = positions(PG.endpoint(), DIRECT_DB, sql);
        assertEquals(List.of(30, 30), direct);
        assertEquals(direct, positions(GW.endpoint(), TestPostgres.DATABASE, sql));
    }
}
