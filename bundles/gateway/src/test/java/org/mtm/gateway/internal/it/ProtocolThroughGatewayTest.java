package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.mtm.gateway.internal.it.RawClient.first;
import static org.mtm.gateway.internal.it.RawClient.types;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.gateway.internal.it.JdbcThroughGatewayTest.CountingCommitter;
import org.mtm.gateway.internal.it.RawClient.Msg;

/**
 * Protocol sequences drivers rarely produce, written message by message over a socket through the gateway
 * to a real server: the replies must be exactly PostgreSQL's.
 */
public class ProtocolThroughGatewayTest {
    private static final CountingCommitter COMMITTER = new CountingCommitter();
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG).committer(COMMITTER);

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @Before
    public void freshTable() throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS t");
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
        }
    }

    private static long count(String sql) throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    public void errorInAPipelineSkipsToSyncAndTheNextBatchRuns() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            // 1/0 is folded when the statement is planned, so the error answers the Bind
            c.run("INSERT INTO t VALUES (1, 'a')").run("SELECT 1/0").run("INSERT INTO t VALUES (2, 'b')").sync()
                    .run("SELECT 42").sync()
                    .run("INSERT INTO t VALUES (3, 'c')").sync();
            c.flush();
            List<Msg> first = c.readUntilReady();
            assertEquals("12C1EZ", types(first));
            assertEquals("22012", first(first, 'E').field('C'));
            assertEquals('I', first.get(first.size() - 1).status());
            List<Msg> second = c.readUntilReady();
            assertEquals("12DCZ", types(second));
            assertEquals("12CZ", types(c.readUntilReady()));
        }
        assertEquals(1, count("SELECT count(*) FROM t"));
        assertEquals(1, count("SELECT count(*) FROM t WHERE id = 3"));
    }

    @Test
    public void commitExecutedInTheMiddleOfABatchIsTheGatewaysAndTheRestRuns() throws Exception {
        int before = COMMITTER.commits.get();
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query("BEGIN").flush();
            assertEquals('T', c.readUntilReady().get(1).status());
            c.run("INSERT INTO t VALUES (1, 'a')").describe('S', "").run("COMMIT").run("SELECT 7").sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("12Ctn12C12DCZ", types(r));
            assertEquals("COMMIT", r.get(7).text());
            assertEquals("7", r.get(10).column0());
            assertEquals('I', r.get(r.size() - 1).status());
        }
        assertEquals(before + 1, COMMITTER.commits.get());
        assertEquals(1, count("SELECT count(*) FROM t"));
    }

    @Test
    public void commitAfterAFailureInTheSameBatchIsSkippedLikeTheServerWould() throws Exception {
        int before = COMMITTER.commits.get();
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query("BEGIN").flush();
            c.readUntilReady();
            c.run("INSERT INTO t VALUES (1, 'a')").run("SELECT 1/0").run("COMMIT").run("SELECT 1").sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("12C1EZ", types(r));
            assertEquals('E', r.get(r.size() - 1).status());
            c.query("ROLLBACK").flush();
            List<Msg> rb = c.readUntilReady();
            assertEquals("ROLLBACK", rb.get(0).text());
            assertEquals('I', rb.get(rb.size() - 1).status());
        }
        assertEquals(before, COMMITTER.commits.get());
        assertEquals(0, count("SELECT count(*) FROM t"));
    }

    @Test
    public void reservedGidInTheExtendedProtocolFailsTheTransaction() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query("BEGIN; INSERT INTO t VALUES (1, 'a')").flush();
            c.readUntilReady();
            c.run("PREPARE TRANSACTION 'MTM-1-1-1'").run("SELECT 1").sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("12EZ", types(r));
            assertEquals("42939", first(r, 'E').field('C'));
            assertEquals('E', r.get(r.size() - 1).status());
            c.query("SELECT 1").flush();
            assertEquals("25P02", first(c.readUntilReady(), 'E').field('C'));
            c.query("ROLLBACK").flush();
            c.readUntilReady();
        }
        assertEquals(0, count("SELECT count(*) FROM pg_prepared_xacts"));
        assertEquals(0, count("SELECT count(*) FROM t"));
    }

    @Test
    public void extendedCopyFromStdinWithTheSyncLibpqSendsEarly() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            // libpq's PQexecParams: the Sync goes out with the Execute and is ignored inside COPY
            c.parse("", "COPY t FROM STDIN").bind("", "").describe('P', "").execute("", 0).sync().flush();
            assertEquals("12nG", types(c.readUntil('G')));
            c.copyData("1\tone\n").copyData("2\ttwo\n3\tthree\n").copyDone().sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("CZ", types(r));
            assertEquals("COPY 3", r.get(0).text());
            // the same with bad data: error, then ReadyForQuery at the next Sync
            c.parse("", "COPY t FROM STDIN").bind("", "").execute("", 0).sync().flush();
            c.readUntil('G');
            c.copyData("9\tnine\n").copyData("oops\n").copyDone().sync().flush();
            List<Msg> bad = c.readUntilReady();
            assertEquals("EZ", types(bad));
            assertEquals("22P02", first(bad, 'E').field('C'));
            c.query("SELECT count(*) FROM t").flush();
            assertEquals("3", first(c.readUntilReady(), 'D').column0());
        }
    }

    @Test
    public void simpleCopyFailAndCopyOut() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query("COPY t FROM STDIN").flush();
            assertEquals("G", types(c.readUntil('G')));
            c.copyData("1\tone\n").copyFail("client gave up").flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("EZ", types(r));
            assertEquals("57014", first(r, 'E').field('C'));
            c.query("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 1000) g; COPY t TO STDOUT").flush();
            List<Msg> out = c.readUntilReady();
            assertEquals(1000, out.stream().filter(m -> m.type() == 'd').count());
            assertTrue(types(out).startsWith("CH"));
            assertTrue(types(out).endsWith("cCZ"));
        }
    }

    @Test
    public void flushDeliversRepliesBeforeSync() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.parse("s1", "SELECT $1::int + 1").describe('S', "s1").flushMessage().flush();
            assertEquals("1tT", types(c.readUntil('T')));
            c.closeStatement("s1").sync().flush();
            assertEquals("3Z", types(c.readUntilReady()));
        }
    }

    @Test
    public void namedPortalFetchedInPiecesAcrossSyncs() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query("BEGIN").flush();
            c.readUntilReady();
            c.parse("gs", "SELECT g FROM generate_series(1, 10) g").bind("p1", "gs").execute("p1", 3).sync().flush();
            assertEquals("12DDDsZ", types(c.readUntilReady()));
            c.execute("p1", 4).sync().flush();
            assertEquals("DDDDsZ", types(c.readUntilReady()));
            c.execute("p1", 0).sync().flush();
            assertEquals("DDDCZ", types(c.readUntilReady()));
            c.query("COMMIT").flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("CZ", types(r));
            assertEquals('I', r.get(r.size() - 1).status());
        }
    }

    @Test
    public void theClientsUnnamedStatementSurvivesGatewayOwnedCommits() throws Exception {
        int before = COMMITTER.commits.get();
        try (RawClient c = RawClient.open(GW.endpoint())) {
            // the client keeps an unnamed statement and only uses named ones meanwhile (a simple Query of its
            // own would drop it, the gateway's must not)
            c.parse("", "SELECT 8").sync().flush();
            assertEquals("1Z", types(c.readUntilReady()));
            c.parse("b", "BEGIN").bind("", "b").execute("", 0).sync().flush();
            assertEquals('T', c.readUntilReady().get(3).status());
            c.parse("i", "INSERT INTO t VALUES (1, 'a')").bind("", "i").execute("", 0).sync().flush();
            c.readUntilReady();
            c.parse("c", "COMMIT").bind("", "c").execute("", 0).sync().flush(); // gateway-owned commit
            List<Msg> committed = c.readUntilReady();
            assertEquals("12CZ", types(committed));
            assertEquals('I', committed.get(3).status());
            c.bind("", "").execute("", 0).sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("2DCZ", types(r));
            assertEquals("8", first(r, 'D').column0());
        }
        assertEquals(before + 1, COMMITTER.commits.get());
    }

    @Test
    public void commitOutsideATransactionAndEmptyQueriesAnswerLikeTheServer() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query("COMMIT").flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("25P01", first(r, 'N').field('C'));
            assertEquals("COMMIT", first(r, 'C').text());
            c.query("").flush();
            assertEquals("IZ", types(c.readUntilReady()));
            c.query(" ; -- nothing").flush();
            assertEquals("IZ", types(c.readUntilReady()));
            c.query("BEGIN; SELECT 1/0").flush();
            c.readUntilReady();
            c.query("COMMIT").flush(); // COMMIT of a failed block is a rollback
            List<Msg> rolledBack = c.readUntilReady();
            assertEquals("ROLLBACK", first(rolledBack, 'C').text());
            assertEquals('I', rolledBack.get(rolledBack.size() - 1).status());
        }
    }

    @Test
    public void functionCallProtocol() throws Exception {
        int int4abs;
        try (Connection d = PG.direct(); Statement st = d.createStatement();
             ResultSet rs = st.executeQuery("SELECT 'int4abs'::regproc::oid")) {
            rs.next();
            int4abs = rs.getInt(1);
        }
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.functionCall(int4abs, -42).flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("VZ", types(r));
            assertEquals(42, ByteBuffer.wrap(r.get(0).body()).getInt(4));
        }
    }

    @Test
    public void encryptionRequestsAreRefusedAndStartupGoesOn() throws Exception {
        try (RawClient c = new RawClient(GW.endpoint())) {
            c.untyped(ByteBuffer.allocate(4).putInt(80877104).array()); // GSSENCRequest
            c.flush();
            assertEquals('N', c.readByte());
            c.untyped(ByteBuffer.allocate(4).putInt(80877103).array()); // SSLRequest
            c.flush();
            assertEquals('N', c.readByte());
            c.startup(TestPostgres.USER, TestPostgres.DATABASE);
            List<Msg> r = c.readUntilReady();
            assertTrue(types(r), types(r).startsWith("R"));
            assertTrue(types(r), types(r).contains("K"));
            c.query("SELECT 1").flush();
            assertEquals("TDCZ", types(c.readUntilReady()));
            c.terminate().flush();
            assertTrue(c.closedByPeer());
        }
    }

    @Test
    public void cancelRequestWithAnUnknownKeyIsDropped() throws Exception {
        try (RawClient c = new RawClient(GW.endpoint())) {
            c.untyped(ByteBuffer.allocate(12).putInt(80877102).putInt(12345).putInt(678).array());
            c.flush();
            assertTrue(c.closedByPeer());
        }
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query("SELECT 1").flush();
            assertEquals("TDCZ", types(c.readUntilReady()));
        }
    }

    @Test
    public void wrongDatabaseIsThePostgresError() throws Exception {
        try (RawClient c = new RawClient(GW.endpoint())) {
            c.startup(TestPostgres.USER, "no_such_db");
            List<Msg> r = c.readUntil('E');
            Msg m = r.get(r.size() - 1);
            assertEquals("3D000", m.field('C'));
            assertTrue(c.closedByPeer());
        }
    }
}
