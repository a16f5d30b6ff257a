package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.StringReader;
import java.io.StringWriter;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Savepoint;
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
import org.mtm.itests.harness.Sql;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * A pgjdbc application against the gateways of different nodes: autocommit, explicit transactions (commit,
 * rollback, failure), batches, prepared statements (server-prepared from the first execution and pgjdbc's
 * default switch after five), savepoints, one transaction of 100k rows, COPY FROM STDIN / TO STDOUT. After
 * each commit returns, every node's own PostgreSQL has exactly the same rows (ordered md5) — checked at once,
 * without polling, because the commit is synchronous — and what was rolled back is nowhere.
 */
public class JdbcSuiteIT {
    private static final String WHO = "JdbcSuiteIT";
    private static final List<String> TABLES = List.of("auto", "tx", "batch", "prep_one", "prep_default", "sp", "big", "copy");
    /** A commit on an idle 3-node cluster takes milliseconds; this bound only separates "slow" from "hangs". */
    private static final Duration COMMIT_BOUND = Duration.ofSeconds(20);
    private static TestCluster cluster;

    @BeforeClass
    public static void cluster() throws SQLException {
        cluster = TestCluster.initialised("jdbc-suite");
        try (Connection c = cluster.viaGateway(1); Statement st = c.createStatement()) {
            for (String table : TABLES) {
                st.execute("CREATE TABLE jdbc_" + table + " (id bigint PRIMARY KEY, val text, n numeric, at timestamptz DEFAULT now())");
            }
        }
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    @Test
    public void autocommitWritesThroughGateway2() throws SQLException {
        try (Connection c = cluster.viaGateway(2); Statement st = c.createStatement()) {
            assertTrue(c.getAutoCommit());
            assertEquals(3, st.executeUpdate("INSERT INTO jdbc_auto (id, val, n) VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, 'c', 3.5)"));
            assertEquals(1, st.executeUpdate("UPDATE jdbc_auto SET val = 'bb' WHERE id = 2"));
            assertEquals(1, st.executeUpdate("DELETE FROM jdbc_auto WHERE id = 3"));
            SQLException duplicate = expectFailure(() -> st.executeUpdate("INSERT INTO jdbc_auto (id, val) VALUES (4, 'x'), (1, 'dup')"));
            assertEquals("unique violation: " + duplicate, "23505", duplicate.getSQLState());
        }
        // the failed statement left nothing, not even its first row
        assertRowsEverywhere("jdbc_auto", "1:a,2:bb");
    }

    @Test
    public void explicitTransactionsThroughGateway3() throws SQLException {
        try (Connection c = cluster.viaGateway(3); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO jdbc_tx (id, val) VALUES (1, 'kept')");
            st.executeUpdate("UPDATE jdbc_tx SET val = 'kept!' WHERE id = 1");
            c.commit();
            assertRowsEverywhere("jdbc_tx", "1:kept!");

            st.executeUpdate("INSERT INTO jdbc_tx (id, val) VALUES (2, 'rolled back')");
            c.rollback();
            assertRowsEverywhere("jdbc_tx", "1:kept!");

            // a transaction that failed: COMMIT answers as a rollback, nothing of it anywhere
            st.executeUpdate("INSERT INTO jdbc_tx (id, val) VALUES (3, 'in a failed transaction')");
            SQLException duplicate = expectFailure(() -> st.executeUpdate("INSERT INTO jdbc_tx (id, val) VALUES (1, 'dup')"));
            assertEquals("23505", duplicate.getSQLState());
            // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK, which pgjdbc does not report
            c.commit();
            assertRowsEverywhere("jdbc_tx", "1:kept!");

            // several transactions on one connection, each its own distributed commit
            for (int i = 10; i < 20; i++) {
                st.executeUpdate("INSERT INTO jdbc_tx (id, val) VALUES (" + i + ", 'loop')");
                c.commit();
            }
            c.setAutoCommit(true);
        }
        assertEquals("11", Sql.scalar(cluster.postgres(1), "SELECT count(*) FROM jdbc_tx"));
        assertSameEverywhere("jdbc_tx");
    }

    @Test
    public void batchesThroughGateway1() throws SQLException {
        for (String rewrite : List.of("false", "true")) {
            long base = "true".equals(rewrite) ? 1000 : 0;
            try (Connection c = cluster.viaGateway(1, "reWriteBatchedInserts", rewrite);
                 PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_batch (id, val, n) VALUES (?, ?, ?)")) {
                // autocommit batch: pgjdbc sends it as one pipeline up to Sync
                for (int i = 1; i <= 200; i++) {
                    ps.setLong(1, base + i);
                    ps.setString(2, "batch " + rewrite + " " + i);
                    ps.setBigDecimal(3, java.math.BigDecimal.valueOf(i, 2));
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                assertEquals(200, counts.length);
                // a batch in a transaction, failing in the middle: nothing of it survives
                c.setAutoCommit(false);
                for (int i = 201; i <= 260; i++) {
                    ps.setLong(1, base + (i == 230 ? 1 : i));
                    ps.setString(2, "doomed");
                    ps.setBigDecimal(3, java.math.BigDecimal.ONE);
                    ps.addBatch();
                }
                try {
                    ps.executeBatch();
                    fail("a batch with a duplicate key succeeded (rewrite " + rewrite + ")");
                } catch (BatchUpdateException e) {
                    assertEquals("23505", Sql.sqlState(e.getNextException() != null ? e.getNextException() : e));
                }
                c.rollback();
                c.setAutoCommit(true);
            }
        }
        assertEquals("400", Sql.scalar(cluster.postgres(2), "SELECT count(*) FROM jdbc_batch"));
        assertEquals("0", Sql.scalar(cluster.postgres(3), "SELECT count(*) FROM jdbc_batch WHERE val = 'doomed'"));
        assertSameEverywhere("jdbc_batch");
    }

    @Test
    public void preparedStatementsServerPreparedFromTheFirstExecution() throws SQLException {
        preparedStatements("jdbc_prep_one", 2, "prepareThreshold", "1");
    }

    @Test
    public void preparedStatementsWithPgjdbcDefaults() throws SQLException {
        // the default threshold (5): unnamed statements first, then a named server statement mid-way
        preparedStatements("jdbc_prep_default", 3);
    }

    private static void preparedStatements(String table, int node, String... properties) throws SQLException {
        try (Connection c = cluster.viaGateway(node, properties);
             PreparedStatement insert = c.prepareStatement("INSERT INTO " + table + " (id, val, n) VALUES (?, ?, ?)");
             PreparedStatement update = c.prepareStatement("UPDATE " + table + " SET n = n + ? WHERE id = ?");
             PreparedStatement select = c.prepareStatement("SELECT n FROM " + table + " WHERE id = ?")) {
            for (int i = 1; i <= 12; i++) {
                insert.setLong(1, i);
                insert.setString(2, "p" + i);
                insert.setInt(3, i);
                assertEquals(1, insert.executeUpdate());
            }
            c.setAutoCommit(false);
            for (int round = 0; round < 8; round++) {
                for (int i = 1; i <= 12; i += 3) {
                    update.setInt(1, 10);
                    update.setLong(2, i);
                    assertEquals(1, update.executeUpdate());
                }
                if (round % 2 == 0) {
                    c.commit();
                } else {
                    c.rollback();
                }
            }
            c.setAutoCommit(true);
            select.setLong(1, 1);
            try (var rs = select.executeQuery()) {
                assertTrue(rs.next());
                assertEquals("4 committed rounds of +10", 41, rs.getInt(1));
            }
        }
        assertEquals("sum of n on node 1", Integer.toString(78 + 4 * 10 * 4),
            Sql.scalar(cluster.postgres(1), "SELECT sum(n)::int FROM " + table));
        assertSameEverywhere(table);
    }

    @Test
    public void savepointsOnlySurvivingChangesReplicate() throws SQLException {
        try (Connection c = cluster.viaGateway(2); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.executeUpdate("INSERT INTO jdbc_sp (id, val) VALUES (1, 'before sp1')");
            Savepoint sp1 = c.setSavepoint("sp1");
            st.executeUpdate("INSERT INTO jdbc_sp (id, val) VALUES (2, 'rolled back to sp1')");
            st.executeUpdate("UPDATE jdbc_sp SET val = 'changed then rolled back' WHERE id = 1");
            c.rollback(sp1);
            st.executeUpdate("INSERT INTO jdbc_sp (id, val) VALUES (3, 'after rollback to sp1')");
            Savepoint sp2 = c.setSavepoint();
            st.executeUpdate("INSERT INTO jdbc_sp (id, val) VALUES (4, 'released sp2')");
            c.releaseSavepoint(sp2);
            Savepoint sp3 = c.setSavepoint("sp3");
            // an error inside a savepoint, recovered by rolling back to it
            SQLException duplicate = expectFailure(() -> st.executeUpdate("INSERT INTO jdbc_sp (id, val) VALUES (5, 'x'), (1, 'dup')"));
            assertEquals("23505", duplicate.getSQLState());
            c.rollback(sp3);
            Savepoint outer = c.setSavepoint("outer");
            st.executeUpdate("INSERT INTO jdbc_sp (id, val) VALUES (6, 'nested kept')");
            Savepoint inner = c.setSavepoint("inner");
            st.executeUpdate("INSERT INTO jdbc_sp (id, val) VALUES (7, 'nested rolled back')");
            c.rollback(inner);
            c.releaseSavepoint(outer);
            c.commit();
            c.setAutoCommit(true);
        }
        assertRowsEverywhere("jdbc_sp", "1:before sp1,3:after rollback to sp1,4:released sp2,6:nested kept");
    }

    @Test
    public void oneTransactionOf100kRows() throws SQLException {
        int rows = 100_000;
        long start = System.nanoTime();
        try (Connection c = cluster.viaGateway(3, "reWriteBatchedInserts", "true");
             PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_big (id, val, n) VALUES (?, ?, ?)")) {
            c.setAutoCommit(false);
            for (int i = 1; i <= rows; i++) {
                ps.setLong(1, i);
                ps.setString(2, "row " + i + " " + "x".repeat(i % 50));
                ps.setLong(3, i % 997);
                ps.addBatch();
                if (i % 5000 == 0) {
                    ps.executeBatch();
                }
            }
            ps.executeBatch();
            long sent = TestCluster.millisSince(start);
            c.commit();
            TestCluster.log(WHO, "100k rows: sent in %d ms, COMMIT returned %d ms later", sent, TestCluster.millisSince(start) - sent);
            c.setAutoCommit(true);
        }
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertEquals("rows on node" + id, Integer.toString(rows), Sql.scalar(cluster.postgres(id), "SELECT count(*) FROM jdbc_big"));
        }
        assertSameEverywhere("jdbc_big");
    }

    @Test
    public void copyFromStdinAndToStdout() throws Exception {
        int rows = 20_000;
        StringBuilder data = new StringBuilder();
        for (int i = 1; i <= rows; i++) {
            data.append(i).append('\t').append("copy ").append(i).append(i % 7 == 0 ? "\t\\N" : "\t" + i * 0.25).append('\n');
        }
        try (Connection c = cluster.viaGateway(2)) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            long copied = copy.copyIn("COPY jdbc_copy (id, val, n) FROM STDIN", new StringReader(data.toString()));
            assertEquals(rows, copied);
            // COPY inside an explicit transaction that rolls back: nothing anywhere
            c.setAutoCommit(false);
            copy.copyIn("COPY jdbc_copy (id, val) FROM STDIN", new StringReader((rows + 1) + "\tdoomed\n" + (rows + 2) + "\tdoomed\n"));
            c.rollback();
            // and one that commits
            copy.copyIn("COPY jdbc_copy (id, val) FROM STDIN (FORMAT csv)", new StringReader((rows + 3) + ",\"quoted, kept\"\n"));
            c.commit();
            c.setAutoCommit(true);
        }
        assertEquals(Integer.toString(rows + 1), Sql.scalar(cluster.postgres(1), "SELECT count(*) FROM jdbc_copy"));
        assertEquals("0", Sql.scalar(cluster.postgres(3), "SELECT count(*) FROM jdbc_copy WHERE val = 'doomed'"));
        assertSameEverywhere("jdbc_copy");
        // COPY TO STDOUT through another gateway gives back what went in
        try (Connection c = cluster.viaGateway(3)) {
            StringWriter out = new StringWriter();
            c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT id, val, n FROM jdbc_copy WHERE id <= " + rows
                + " ORDER BY id) TO STDOUT", out);
            assertEquals(data.toString(), out.toString());
        }
    }

    @Test
    public void transactionsWithAnXidButNoRowChangeCommitPromptly() throws SQLException {
        // SELECT ... FOR UPDATE, nextval(): the transaction gets an xid, but logical decoding carries nothing of it
        Sql.execute(cluster.gateway(1), "CREATE SEQUENCE jdbc_ids");
        Sql.execute(cluster.gateway(1), "CREATE TABLE jdbc_locked (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(1), "INSERT INTO jdbc_locked VALUES (1)");
        try (Connection c = cluster.viaGateway(3); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            Bounded.within(COMMIT_BOUND, "BEGIN; SELECT ... FOR UPDATE; COMMIT", c, () -> {
                st.executeQuery("SELECT id FROM jdbc_locked WHERE id = 1 FOR UPDATE").close();
                c.commit();
                return null;
            });
            c.setAutoCommit(true);
            String id = Bounded.within(COMMIT_BOUND, "autocommit SELECT nextval('jdbc_ids')", c,
                () -> Sql.scalar(c, "SELECT nextval('jdbc_ids')"));
            assertTrue("a sequence value: " + id, Long.parseLong(id) > 0);
        }
    }

    /**
     * The same psql script through gateway 1 and straight into node 1's PostgreSQL (a scratch database there, so
     * nothing written bypasses the cluster): byte-identical output — error positions of multi-statement queries,
     * NOTICEs and WARNINGs of functions, NOTICEs of deferred triggers and errors of deferred constraints at COMMIT
     * (explicit and autocommit) with every field (VERBOSITY verbose: schema, table, constraint, detail, hint,
     * context, location), the session's own text in pg_stat_activity, no prepared statement of the gateway's.
     */
    @Test
    public void psqlSeesTheGatewayAsPostgres() throws SQLException {
        String script = String.join("\n",
            "\\set VERBOSITY verbose",
            "CREATE TABLE tr_parent (id int PRIMARY KEY);",
            "CREATE TABLE tr_child (id int PRIMARY KEY CONSTRAINT tr_positive CHECK (id > 0), "
                + "parent int REFERENCES tr_parent DEFERRABLE INITIALLY DEFERRED);",
            "CREATE FUNCTION tr_noisy() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'checked % at commit', "
                + "NEW.id USING DETAIL = 'a detail', HINT = 'a hint'; RETURN NULL; END$$;",
            "CREATE CONSTRAINT TRIGGER tr_noisy AFTER INSERT ON tr_parent DEFERRABLE INITIALLY DEFERRED "
                + "FOR EACH ROW EXECUTE FUNCTION tr_noisy();",
            "CREATE FUNCTION tr_say(t text) RETURNS int LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'said %', t; "
                + "RAISE WARNING 'warned %', t; RETURN 1; END$$;",
            "INSERT INTO tr_parent VALUES (1);",
            "BEGIN;",
            "INSERT INTO tr_parent VALUES (2);",
            "INSERT INTO tr_parent VALUES (3) RETURNING id, tr_say('in a block');",
            "COMMIT;",
            "SELECT tr_say('a') AS a \\; SELECT tr_say('b') AS b;",
            "SELECT 1 AS one \\; SELECT 2 AS AS two;",
            "\\errverbose",
            "SELECT 1 AS one \\; SELECT nosuch FROM tr_parent;",
            // COMMIT inside a query without BEGIN: the gateway says PostgreSQL's warning itself (without LOCATION)
            "\\set VERBOSITY default",
            "INSERT INTO tr_parent VALUES (10) \\; COMMIT \\; SELECT id, nosuch FROM tr_parent;",
            "\\set VERBOSITY verbose",
            "INSERT INTO tr_child VALUES (-1, NULL);",
            "INSERT INTO tr_parent VALUES (1);",
            "BEGIN;",
            "INSERT INTO tr_child VALUES (5, 99);",
            "COMMIT;",
            "INSERT INTO tr_child VALUES (6, 99);",
            "INSERT INTO tr_parent VALUES (7) \\; INSERT INTO tr_child VALUES (7, 7);",
            "SET application_name = 'tr_app';",
            "SHOW application_name;",
            "SELECT count(*) AS prepared FROM pg_prepared_statements;",
            "SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid();",
            "SELECT id, parent FROM tr_child ORDER BY id;",
            "SELECT id FROM tr_parent ORDER BY id;",
            "");
        Sql.execute(cluster.postgres(1), "CREATE DATABASE jdbc_reference");
        try {
            PgTools.Result direct = PgTools.psql(cluster.postgres(1), script, COMMIT_BOUND, "-a", "-v", "ON_ERROR_STOP=0",
                "-d", "host=127.0.0.1 port=" + cluster.postgres(1) + " dbname=jdbc_reference user=" + KarafNode.DATABASE_USER);
            PgTools.Result gateway = PgTools.psql(cluster.gateway(1), script, COMMIT_BOUND, "-a", "-v", "ON_ERROR_STOP=0");
            assertTrue(direct.toString(), direct.stderr().contains("NOTICE:  00000: checked 2 at commit"));
            assertTrue(direct.toString(), direct.stderr().contains("tr_child_parent_fkey"));
            assertEquals("psql's output (stdout)", direct.stdout(), gateway.stdout());
            assertEquals("psql's messages (stderr)", direct.stderr(), gateway.stderr());
        } finally {
            Sql.execute(cluster.postgres(1), "DROP DATABASE jdbc_reference");
        }
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertEquals("tr_parent on node" + id, "1,2,3,7,10",
                Sql.scalar(cluster.postgres(id), "SELECT string_agg(id::text, ',' ORDER BY id) FROM tr_parent"));
        }
        assertSameEverywhere("tr_child");
    }

    private static String warnings(SQLWarning w) {
        StringBuilder b = new StringBuilder();
        for (; w != null; w = w.getNextWarning()) {
            b.append(b.length() == 0 ? "" : "|").append(w.getSQLState()).append(' ').append(w.getMessage());
        }
        return b.toString();
    }

    /**
     * A pgjdbc application (extended protocol) sees through gateway 2 what it sees on PostgreSQL: a function's
     * NOTICE and WARNING on its statement, a deferred trigger's NOTICE at commit (on the connection after an
     * explicit commit, on the statement in autocommit), ParameterStatus of SET, its backend's pid as the key the
     * cancel request uses, no prepared statement that it did not prepare.
     */
    @Test
    public void pgjdbcSeesTheGatewayAsPostgres() throws Exception {
        Sql.execute(cluster.gateway(2), "CREATE TABLE jdbc_noisy (id int PRIMARY KEY)");
        Sql.execute(cluster.gateway(2), "CREATE FUNCTION jdbc_noisy() RETURNS trigger LANGUAGE plpgsql AS "
            + "$$BEGIN RAISE NOTICE 'checked %', NEW.id; RETURN NULL; END$$");
        Sql.execute(cluster.gateway(2), "CREATE CONSTRAINT TRIGGER jdbc_noisy AFTER INSERT ON jdbc_noisy "
            + "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jdbc_noisy()");
        Sql.execute(cluster.gateway(2), "CREATE FUNCTION jdbc_say(t text) RETURNS int LANGUAGE plpgsql AS "
            + "$$BEGIN RAISE NOTICE 'said %', t; RAISE WARNING 'warned %', t; RETURN 1; END$$");
        for (String mode : List.of("extended", "simple")) {
            try (Connection direct = Sql.connect(cluster.postgres(2), "preferQueryMode", mode);
                 Statement st = direct.createStatement()) {
                st.executeQuery("SELECT jdbc_say('x')").close(); // read-only: nothing written bypasses the gateway
                assertEquals(mode, "00000 said x|01000 warned x", warnings(st.getWarnings()));
            }
            int base = "simple".equals(mode) ? 10 : 0;
            try (Connection c = cluster.viaGateway(2, "preferQueryMode", mode); Statement st = c.createStatement()) {
                st.executeQuery("SELECT jdbc_say('x')").close();
                assertEquals(mode, "00000 said x|01000 warned x", warnings(st.getWarnings()));
                st.clearWarnings();
                c.setAutoCommit(false);
                st.executeUpdate("INSERT INTO jdbc_noisy VALUES (" + (base + 1) + ")");
                assertEquals(mode, "", warnings(st.getWarnings()) + warnings(c.getWarnings()));
                c.commit();
                assertEquals(mode, "00000 checked " + (base + 1), warnings(c.getWarnings()));
                c.clearWarnings();
                c.setAutoCommit(true);
                st.executeUpdate("INSERT INTO jdbc_noisy VALUES (" + (base + 2) + ")");
                assertEquals(mode, "00000 checked " + (base + 2), warnings(st.getWarnings()) + warnings(c.getWarnings()));
                PGConnection pg = c.unwrap(PGConnection.class);
                st.execute("SET application_name = 'jdbc_renamed'");
                st.execute("SET TimeZone = 'Asia/Tokyo'");
                assertEquals(mode, "jdbc_renamed", pg.getParameterStatus("application_name"));
                assertEquals(mode, "Asia/Tokyo", pg.getParameterStatus("TimeZone"));
                assertEquals(mode, Integer.toString(pg.getBackendPID()), Sql.scalar(c, "SELECT pg_backend_pid()"));
                // pgjdbc's own server-prepared COMMIT (named on the first commit, as on PostgreSQL), nothing else
                assertEquals(mode, "extended".equals(mode) ? "COMMIT" : "",
                    Sql.scalar(c, "SELECT coalesce(string_agg(statement, ' / '), '') FROM pg_prepared_statements"));
                // the cancel request reaches this session's backend (the key is its own)
                java.util.concurrent.ScheduledExecutorService timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
                try {
                    timer.schedule(() -> {
                        try {
                            st.cancel();
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    }, 300, java.util.concurrent.TimeUnit.MILLISECONDS);
                    long start = System.nanoTime();
                    SQLException cancelled = expectFailure(() -> st.execute("SELECT pg_sleep(20)"));
                    assertEquals(mode + ": " + cancelled, "57014", cancelled.getSQLState());
                    assertTrue("cancelled within 10 s", TestCluster.millisSince(start) < 10_000);
                } finally {
                    timer.shutdownNow();
                }
            }
        }
        assertSameEverywhere("jdbc_noisy");
        assertEquals("1,2,11,12", Sql.scalar(cluster.postgres(3), "SELECT string_agg(id::text, ',' ORDER BY id) FROM jdbc_noisy"));
    }

    /** The rows of {@code table} as "id:val,..." in id order, on every node's own PostgreSQL, right now. */
    private static void assertRowsEverywhere(String table, String expected) throws SQLException {
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertEquals(table + " on node" + id, expected,
                Sql.scalar(cluster.postgres(id), "SELECT coalesce(string_agg(id || ':' || val, ',' ORDER BY id), '') FROM " + table));
        }
        assertSameEverywhere(table);
    }

    /** Ordered md5 of {@code table} equal on every node's own PostgreSQL, right now (commits are synchronous). */
    private static void assertSameEverywhere(String table) throws SQLException {
        List<String> digests = new ArrayList<>();
        for (int id = 1; id <= TestCluster.NODES; id++) {
            digests.add(ClusterInvariants.digest(cluster.postgres(id), table, "t.id"));
        }
        assertEquals(table + " digests on nodes 1..3: " + digests, 1, digests.stream().distinct().count());
    }

    interface SqlAction {
        void run() throws SQLException;
    }

    private static SQLException expectFailure(SqlAction action) {
        try {
            action.run();
        } catch (SQLException e) {
            return e;
        }
        throw new AssertionError("expected an SQLException");
    }
}
