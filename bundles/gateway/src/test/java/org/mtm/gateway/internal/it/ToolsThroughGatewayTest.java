package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.gateway.internal.it.JdbcThroughGatewayTest.CountingCommitter;

/** psql and pgbench, the PostgreSQL 15 programs, through the gateway. */
public class ToolsThroughGatewayTest {
    private static final CountingCommitter COMMITTER = new CountingCommitter();
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG).committer(COMMITTER);

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    private static String scalar(String sql) throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    public void psqlMultiStatementCommand() throws SQLException {
        int before = COMMITTER.commits.get();
        Tools.Result r = Tools.psql(GW.endpoint(), null, null, "-At", "-c",
                "CREATE TABLE m (id int PRIMARY KEY, v text); BEGIN; INSERT INTO m VALUES (1, 'one;'); "
                        + "INSERT INTO m VALUES (2, $x$two$x$); COMMIT; SELECT count(*) FROM m");
        assertEquals(r.toString(), 0, r.exitCode());
        assertEquals("2", r.stdout().trim());
        assertEquals(before + 1, COMMITTER.commits.get());
        Tools.Result failed = Tools.psql(GW.endpoint(), null, null, "-c",
                "BEGIN; INSERT INTO m VALUES (3, 'x'); INSERT INTO m VALUES (1, 'dup'); COMMIT");
        assertEquals(failed.toString(), 1, failed.exitCode());
        assertTrue(failed.stderr(), failed.stderr().contains("duplicate key"));
        assertEquals("2", scalar("SELECT count(*) FROM m"));
    }

    @Test
    public void psqlScript() throws SQLException {
        String script = String.join("\n",
                "CREATE TABLE s (id int PRIMARY KEY, v text);",
                "CREATE FUNCTION add_one(i int) RETURNS int LANGUAGE sql",
                "  BEGIN ATOMIC SELECT i + 1; END;",
                "CREATE FUNCTION twice(i int) RETURNS int LANGUAGE plpgsql AS $$",
                "BEGIN RETURN i * 2; END; $$;",
                "DO $$BEGIN RAISE NOTICE 'in a DO block; with a semicolon'; END$$;",
                "COPY s FROM STDIN;",
                "1\tcopied",
                "2\talso copied",
                "\\.",
                "BEGIN;",
                "INSERT INTO s VALUES (add_one(2), 'three');",
                "SAVEPOINT a;",
                "INSERT INTO s VALUES (twice(2), 'four');",
                "ROLLBACK TO SAVEPOINT a;",
                "INSERT INTO s VALUES (twice(5), 'ten') /* ; COMMIT; */ ;",
                "-- COMMIT; in a comment",
                "COMMIT;",
                "BEGIN; INSERT INTO s VALUES (99, 'rolled back'); ROLLBACK;",
                "\\copy s TO STDOUT",
                "SELECT string_agg(id::text, ',' ORDER BY id) FROM s;");
        Tools.Result r = Tools.psql(GW.endpoint(), null, script, "-At", "-f", "-");
        assertEquals(r.toString(), 0, r.exitCode());
        assertTrue(r.stdout(), r.stdout().contains("1\tcopied\n2\talso copied\n3\tthree\n10\tten"));
        assertTrue(r.stdout(), r.stdout().trim().endsWith("1,2,3,10"));
        assertTrue(r.stderr(), r.stderr().contains("in a DO block; with a semicolon"));
        assertEquals("1,2,3,10", scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM s"));
        // single-transaction mode: psql wraps the file in BEGIN ... COMMIT
        Tools.Result single = Tools.psql(GW.endpoint(), null, "INSERT INTO s VALUES (20, 'a');\nINSERT INTO s VALUES (21, 'b');\n",
                "-1", "-f", "-");
        assertEquals(single.toString(), 0, single.exitCode());
        assertEquals("6", scalar("SELECT count(*) FROM s"));
    }

    @Test
    public void sslPreferFallsBackToPlainAndSslRequireIsRefused() {
        Tools.Result prefer = Tools.psql(GW.endpoint(), "sslmode=prefer", null, "-At", "-c", "SELECT 'plain'");
        assertEquals(prefer.toString(), 0, prefer.exitCode());
        assertEquals("plain", prefer.stdout().trim());
        Tools.Result require = Tools.psql(GW.endpoint(), "sslmode=require", null, "-At", "-c", "SELECT 1");
        assertNotEquals(require.toString(), 0, require.exitCode());
        assertTrue(require.stderr(), require.stderr().contains("does not support SSL"));
        Tools.Result gss = Tools.psql(GW.endpoint(), "gssencmode=prefer sslmode=disable", null, "-At", "-c", "SELECT 2");
        assertEquals(gss.toString(), 0, gss.exitCode());
    }

    @Test
    public void pgbenchThroughTheGatewayAndDirect() throws SQLException {
        Tools.Result init = Tools.pgbench(GW.endpoint(), Duration.ofSeconds(60), "-i", "-s", "2", "-q");
        assertEquals(init.toString(), 0, init.exitCode());
        assertEquals("200000", scalar("SELECT count(*) FROM pgbench_accounts"));

        // TPC-B-like transactions (BEGIN ... END, prepared): every END is a gateway-owned commit
        int before = COMMITTER.commits.get();
        Tools.Result tpcb = Tools.pgbench(GW.endpoint(), Duration.ofSeconds(30), "-M", "prepared", "-c", "4", "-j", "2",
                "-T", "3");
        assertEquals(tpcb.toString(), 0, tpcb.exitCode());
        long processed = Tools.processed(tpcb);
        assertTrue(tpcb.toString(), processed > 0);
        assertEquals(Long.toString(processed), scalar("SELECT count(*) FROM pgbench_history"));
        assertEquals(before + processed, COMMITTER.commits.get());
        assertEquals(scalar("SELECT sum(delta) FROM pgbench_history"), scalar("SELECT sum(abalance) FROM pgbench_accounts"));

        // select-only for 10 s each way: a measurement, printed, not asserted
        Tools.Result viaGateway = Tools.pgbench(GW.endpoint(), Duration.ofSeconds(40), "-S", "-c", "4", "-j", "2", "-T", "10");
        assertEquals(viaGateway.toString(), 0, viaGateway.exitCode());
        Tools.Result direct = Tools.pgbench(PG.endpoint(), Duration.ofSeconds(40), "-S", "-c", "4", "-j", "2", "-T", "10");
        assertEquals(direct.toString(), 0, direct.exitCode());
        double g = Tools.tps(viaGateway);
        double d = Tools.tps(direct);
        System.out.printf("%npgbench -S -c 4 -j 2 -T 10 (simple protocol): direct %.0f tps, through the gateway %.0f tps"
                + " (%.0f%%)%n%n", d, g, 100 * g / d);
        assertTrue(g > 0 && d > 0);
    }
}
