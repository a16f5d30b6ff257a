package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.mtm.gateway.internal.it.RawClient.first;
import static org.mtm.gateway.internal.it.RawClient.types;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.gateway.internal.commit.Admission;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SessionInfo;
import org.mtm.gateway.internal.it.RawClient.Msg;

/**
 * Issue 7, mechanism 1: an error the gateway answers itself inside a pipeline must discard the client's
 * messages up to Sync, as PostgreSQL does after an error — or a statement after a refused BEGIN runs on its
 * own (and, wrapped, commits on its own). The admission here refuses the next N checks, then allows: a node
 * that is isolated for a moment.
 */
public class PipelineRefusalTest {
    /** Refuses the next {@link #refuse} checks, then allows. */
    static final class FlickeringAdmission implements Admission {
        final AtomicInteger refuse = new AtomicInteger();

        @Override
        public ServerError refusal(SessionInfo session) {
            if (session.isAdmin() || refuse.getAndUpdate(n -> Math.max(0, n - 1)) == 0) {
                return null;
            }
            return ServerError.error("57P03", "[multimaster] node is not online: current status is \"isolated\"",
                    "test: refused for a moment");
        }
    }

    private static final FlickeringAdmission ADMISSION = new FlickeringAdmission();
    private static final TestPostgres PG = new TestPostgres();
    /** Initialised and wrapping, as a node of a cluster: autocommit statements commit through the committer. */
    private static final TestGateway GW = new TestGateway(PG, true).admission(ADMISSION);

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @Before
    public void accounts() throws SQLException {
        ADMISSION.refuse.set(0);
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS accounts");
            st.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)");
            st.execute("INSERT INTO accounts VALUES (1, 100), (2, 100)");
        }
    }

    private static List<Integer> balances() throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT balance FROM accounts ORDER BY id")) {
            rs.next();
            int a = rs.getInt(1);
            rs.next();
            return List.of(a, rs.getInt(1));
        }
    }

    private static void transfer(Connection c, int amount) throws SQLException {
        try (PreparedStatement debit = c.prepareStatement("UPDATE accounts SET balance = balance - ? WHERE id = 1");
             PreparedStatement credit = c.prepareStatement("UPDATE accounts SET balance = balance + ? WHERE id = 2")) {
            debit.setInt(1, amount);
            debit.executeUpdate();
            credit.setInt(1, amount);
            credit.executeUpdate();
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        }
    }

    /**
     * The bank workload's client: pgjdbc, autocommit off, prepared statements. Whichever of its messages the
     * node refuses, a transfer is applied whole or not at all, and the client is told which.
     */
    @Test
    public void aTransferIsAllOrNothingWhicheverCheckIsRefused() throws Exception {
        Properties p = new Properties();
        p.setProperty("ApplicationName", "bank");
        try (Connection c = TestPostgres.connect(GW.endpoint(), p)) {
            c.setAutoCommit(false);
            int expectedDebit = 0;
            for (int refused = 1; refused <= 4; refused++) {
                ADMISSION.refuse.set(refused);
                for (int attempt = 0; attempt < refused + 1; attempt++) {
                    try {
                        transfer(c, 1);
                        expectedDebit++;
                    } catch (SQLException e) {
                        assertEquals(e.toString(), "57P03", e.getSQLState());
                    }
                    List<Integer> b = balances();
                    assertEquals("after " + refused + " refusal(s), attempt " + attempt + ": " + b,
                            List.of(100 - expectedDebit, 100 + expectedDebit), b);
                }
                assertEquals(0, ADMISSION.refuse.get());
            }
        }
    }

    /**
     * pgjdbc's first statement of a transaction, exactly as pgjdbc 42.7 sends it: BEGIN as a simple Query, then
     * the statement in the extended protocol and Sync, in one write. The refused BEGIN must take the rest with it.
     */
    @Test
    public void refusedSimpleBeginSkipsTheExtendedTailUpToSync() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            ADMISSION.refuse.set(1);
            c.query("BEGIN").parse("", "UPDATE accounts SET balance = balance - 1 WHERE id = 1").bind("", "")
                    .describe('P', "").execute("", 1).sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("EZ", types(r));
            assertEquals("57P03", first(r, 'E').field('C'));
            List<Msg> tail = c.readUntilReady();
            assertEquals("EZ", types(tail));
            assertEquals("57P03", first(tail, 'E').field('C'));
            assertEquals('I', tail.get(tail.size() - 1).status());
            assertEquals(List.of(100, 100), balances());
            // the next pipeline runs normally
            c.query("BEGIN").run("UPDATE accounts SET balance = balance - 1 WHERE id = 1").sync().flush();
            assertEquals("CZ", types(c.readUntilReady()));
            assertEquals("12CZ", types(c.readUntilReady()));
            c.query("ROLLBACK").flush();
            c.readUntilReady();
        }
    }

    /** The same with the tail arriving after the gateway answered the refused BEGIN. */
    @Test
    public void refusedSimpleBeginSkipsATailThatArrivesLater() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            ADMISSION.refuse.set(1);
            c.query("BEGIN").flush();
            assertEquals("EZ", types(c.readUntilReady()));
            c.run("UPDATE accounts SET balance = balance - 1 WHERE id = 1").sync().flush();
            List<Msg> tail = c.readUntilReady();
            assertEquals("EZ", types(tail));
            assertEquals(List.of(100, 100), balances());
        }
    }

    /** A simple Query after a refused one is not a pipeline tail: it runs. */
    @Test
    public void aQueryAfterARefusedQueryRuns() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            ADMISSION.refuse.set(1);
            c.query("BEGIN").query("UPDATE accounts SET balance = balance - 1 WHERE id = 1").flush();
            assertEquals("EZ", types(c.readUntilReady()));
            assertEquals("CZ", types(c.readUntilReady()));
            assertEquals(List.of(99, 100), balances());
        }
    }

    /** A BEGIN in the extended protocol, refused: the backend-like skip to Sync. */
    @Test
    public void refusedExtendedBeginSkipsTheRestOfThePipeline() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            ADMISSION.refuse.set(1);
            c.run("BEGIN").run("UPDATE accounts SET balance = balance - 1 WHERE id = 1").sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("12EZ", types(r));
            assertEquals("57P03", first(r, 'E').field('C'));
            assertEquals('I', r.get(r.size() - 1).status());
            assertEquals(List.of(100, 100), balances());
        }
    }

    /** The same with the pipeline's tail arriving after the gateway answered the refusal. */
    @Test
    public void refusedExtendedBeginSkipsMessagesThatArriveLater() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            ADMISSION.refuse.set(1);
            c.run("BEGIN").flushMessage().flush();
            List<Msg> head = c.readUntil('E');
            assertEquals("12E", types(head));
            c.run("UPDATE accounts SET balance = balance - 1 WHERE id = 1").sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("Z", types(r));
            assertEquals('I', r.get(r.size() - 1).status());
            assertEquals(List.of(100, 100), balances());
        }
    }

    /** A refused statement in an open block: the rest of the pipeline is skipped, the block fails. */
    @Test
    public void refusedStatementInABlockSkipsTheRestOfThePipeline() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            c.query("BEGIN").flush();
            c.readUntilReady();
            ADMISSION.refuse.set(1);
            c.run("UPDATE accounts SET balance = balance - 1 WHERE id = 1")
                    .run("UPDATE accounts SET balance = balance + 1 WHERE id = 2").run("COMMIT").sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("12EZ", types(r));
            assertEquals('E', r.get(r.size() - 1).status());
            c.query("ROLLBACK").flush();
            c.readUntilReady();
            assertEquals(List.of(100, 100), balances());
        }
    }

    /** A refused autocommit statement: the next one in the pipeline is skipped too, the next pipeline runs. */
    @Test
    public void refusedAutocommitStatementSkipsTheNextOneUpToSync() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            ADMISSION.refuse.set(1);
            c.run("UPDATE accounts SET balance = balance - 1 WHERE id = 1")
                    .run("UPDATE accounts SET balance = balance + 1 WHERE id = 2").sync().flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("12EZ", types(r));
            assertEquals(List.of(100, 100), balances());
            c.run("SELECT 1").sync().flush();
            assertEquals("12DCZ", types(c.readUntilReady()));
        }
    }
}
