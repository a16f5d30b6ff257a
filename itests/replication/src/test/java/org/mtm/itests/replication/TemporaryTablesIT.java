package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;
import org.mtm.itests.harness.PgTools;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Postmaster;
import org.mtm.itests.harness.Sql;

/**
 * Issue 12 on three real nodes: a client's temporary tables (node-local stand-ins) inside transactions that change
 * replicated tables — the issue's two examples, objects and names in {@code pg_temp}, {@code search_path} with
 * {@code pg_temp}, a temporary sequence and its {@code setval}, a DROP of a temporary and a permanent table together —
 * committed on every node; and a session holding temporary tables in the
 * middle of a transaction when its node's PostgreSQL, then its Karaf, is killed -9: afterwards no stand-in is left on
 * the node, the transaction's replicated write is nowhere, and the node's sessions use temporary tables again. The
 * class ends with the invariants (identical replicated tables, nothing prepared, generations never decreased).
 */
public class TemporaryTablesIT {
    private static final String WHO = "TemporaryTablesIT";
    private static final Duration PSQL = Duration.ofSeconds(60);
    private static final String STAND_INS = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'mtm\\_temp\\_%'";
    private static TestCluster cluster;

    @BeforeClass
    public static void cluster() {
        cluster = TestCluster.initialised("temp-tables");
    }

    @AfterClass
    public static void invariants() {
        if (cluster != null) {
            cluster.checkInvariantsAndClose();
        }
    }

    @Test
    public void theIssuesExamplesAndPgTempNamesCommitOnEveryNode() throws SQLException {
        // example 1, one simple Query as psql -c sends it
        PgTools.Result r = PgTools.psql(cluster.gateway(1), null, PSQL, "-c",
            "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1,'a'); CREATE TEMP TABLE x (i int);");
        assertTrue("example 1: " + r, r.ok());
        // example 2, the ETL pattern, then what PostgreSQL lets a session write about pg_temp
        String script = "CREATE TABLE src (id int PRIMARY KEY, v text);\n"
            + "INSERT INTO src SELECT g, 'v' || g FROM generate_series(1, 10) g;\n"
            + "BEGIN;\n"
            + "CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT id + 100 AS id, upper(v) AS v FROM src WHERE id <= 3;\n"
            + "INSERT INTO t SELECT * FROM stage;\n"
            + "COMMIT;\n"
            + "SELECT 'stage: ' || coalesce(to_regclass('stage')::text, 'gone');\n"
            + "CREATE TABLE pg_temp.pt (id int);\n"
            + "CREATE SEQUENCE pg_temp.ps START 200;\n"
            + "CREATE TEMP SEQUENCE ts START 300;\n"
            + "SELECT setval('ts', 400);\n"
            + "BEGIN;\n"
            + "INSERT INTO pg_temp.pt VALUES (1), (2);\n"
            + "INSERT INTO t SELECT nextval('pg_temp.ps'), 'pg_temp' FROM pg_temp.pt;\n"
            + "INSERT INTO t VALUES (nextval('ts'), 'temp sequence');\n"
            + "COMMIT;\n"
            + "SET search_path = pg_temp, public;\n"
            + "CREATE TEMP TABLE shadowed (id int);\n"
            + "CREATE TABLE public.shadowed (id int PRIMARY KEY);\n"
            + "INSERT INTO shadowed VALUES (7);\n"
            + "INSERT INTO public.shadowed SELECT id * 2 FROM shadowed;\n"
            + "SELECT 'temporary first: ' || string_agg(id::text, ',') FROM shadowed;\n"
            // PostgreSQL drops a list in one statement; the other nodes drop the permanent tables of it
            + "CREATE TEMP TABLE temp_parted (a int) PARTITION BY LIST (a);\n"
            + "CREATE TABLE public.perm_part (a int);\n"
            + "DROP TABLE temp_parted, public.perm_part;\n"
            + "DISCARD TEMP;\n"
            + "SELECT 'after discard: ' || count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE n.nspname LIKE 'mtm\\_temp\\_' || pg_backend_pid() || '\\_%';\n";
        r = PgTools.psql(cluster.gateway(1), script, PSQL, "-t", "-A");
        assertTrue("example 2 and pg_temp: " + r, r.ok());
        for (String line : List.of("stage: gone", "temporary first: 7", "after discard: 0")) {
            assertTrue("psql printed '" + line + "': " + r.stdout(), r.stdout().lines().anyMatch(line::equals));
        }
        assertEverywhere("(SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM t)",
            "1:a,101:V1,102:V2,103:V3,200:pg_temp,201:pg_temp,401:temp sequence");
        assertEverywhere("(SELECT string_agg(id::text, ',') FROM public.shadowed)", "14");
        assertEverywhere("to_regclass('perm_part') IS NULL", "t");
        for (int id = 2; id <= TestCluster.NODES; id++) {
            assertEquals("no stand-in schema on node " + id, "0", Sql.scalar(cluster.postgres(id), STAND_INS));
        }
    }

    @Test
    public void killOfPostgresInTheMiddleOfASessionLeavesNoStandIn() throws Exception {
        KarafNode node2 = cluster.node(2);
        Connection c = openTransaction(2, "crash_pg");
        long killed = node2.killPostgres();
        TestCluster.log(WHO, "killed PostgreSQL %d of node 2 with a session's transaction open on its stand-in", killed);
        DdlIT.expectFailure(c::commit);
        closeQuietly(c);
        Poll.until("node 2's PostgreSQL started again", Duration.ofSeconds(60), Duration.ofMillis(250),
            () -> Postmaster.of(node2.datadir()).map(p -> p.pid() != killed).orElse(false) && answers(node2));
        afterCrash(2, "crash_pg");
    }

    @Test
    public void killOfKarafInTheMiddleOfASessionLeavesNoStandIn() throws Exception {
        KarafNode node3 = cluster.node(3);
        Connection c = openTransaction(3, "crash_karaf");
        node3.killKaraf();
        TestCluster.log(WHO, "killed Karaf of node 3 with a session's transaction open on its stand-in");
        DdlIT.expectFailure(c::commit);
        closeQuietly(c);
        node3.start().awaitReady(LocalCluster.BOOT);
        afterCrash(3, "crash_karaf");
    }

    /**
     * A session of gateway {@code id}: a temporary table with rows, a committed transaction that wrote it and the
     * replicated table {@code table}, then an open one that writes both (row 2 of {@code table} not committed).
     */
    private static Connection openTransaction(int id, String table) throws SQLException {
        Sql.execute(cluster.gateway(1), "CREATE TABLE " + table + " (id int PRIMARY KEY, v text)");
        Connection c = cluster.viaGateway(id);
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE pending (id int, v text)");
            st.execute("INSERT INTO pending SELECT g, 'pending' FROM generate_series(1, 1000) g");
            c.setAutoCommit(false);
            st.execute("INSERT INTO " + table + " SELECT id, v FROM pending WHERE id = 1");
            st.execute("DELETE FROM pending WHERE id = 1");
            c.commit();
            st.execute("INSERT INTO " + table + " SELECT id, v FROM pending WHERE id = 2");
            st.execute("DELETE FROM pending WHERE id = 2");
        }
        assertEquals("node " + id + " holds the session's stand-in", "1", Sql.scalar(cluster.postgres(id), STAND_INS));
        return c;
    }

    /**
     * Node {@code id} back after a crash: online, no stand-in left (the gateway sweeps the schemas of backends that
     * are gone), the committed row everywhere and the open transaction's nowhere; temporary tables work there again.
     */
    private static void afterCrash(int id, String table) throws SQLException {
        WriteLoad.awaitNormal(cluster, id, "after the crash");
        Poll.until("node " + id + ": no stand-in of a temporary table left after the crash", Duration.ofSeconds(30),
            Duration.ofMillis(250), () -> "0".equals(Sql.scalar(cluster.postgres(id), STAND_INS)));
        assertEquals("0", Sql.scalar(cluster.postgres(id), "SELECT count(*) FROM pg_class WHERE relname = 'pending'"));
        assertEverywhere("(SELECT string_agg(id::text, ',') FROM " + table + ")", "1");
        try (Connection c = cluster.viaGateway(id); Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE pending (id int)");
            st.execute("INSERT INTO pending VALUES (3)");
            c.setAutoCommit(false);
            st.execute("INSERT INTO " + table + " SELECT id, 'after' FROM pending");
            c.commit();
        }
        assertEverywhere("(SELECT string_agg(id::text, ',' ORDER BY id) FROM " + table + ")", "1,3");
    }

    private static boolean answers(KarafNode node) {
        try {
            Sql.scalar(node.postgresPort(), "SELECT 1");
            return true;
        } catch (SQLException e) {
            return false;
        }
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException e) {
            // its node crashed: nothing to close
        }
    }

    private static void assertEverywhere(String expression, String expected) throws SQLException {
        for (int id = 1; id <= TestCluster.NODES; id++) {
            assertEquals(expression + " on node " + id, expected, Sql.scalar(cluster.postgres(id), "SELECT " + expression));
        }
    }
}
