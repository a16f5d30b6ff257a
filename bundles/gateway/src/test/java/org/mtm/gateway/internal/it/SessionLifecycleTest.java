package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.mtm.gateway.internal.it.RawClient.first;
import static org.mtm.gateway.internal.it.RawClient.types;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.api.ClusterState;
import org.mtm.api.Generation;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeStatus;
import org.mtm.api.StatusReport;
import org.mtm.gateway.internal.commit.ClusterAdmission;
import org.mtm.gateway.internal.it.RawClient.Msg;
import org.mtm.gateway.internal.session.GatewayServer;
import org.mtm.testing.Await;

/** Node status admission, disconnects on either side, and stopping the gateway under open sessions. */
public class SessionLifecycleTest {
    /** The node's view, settable by the test (an implementation of the api interface, not a mock of PostgreSQL). */
    static final class SettableClusterState implements ClusterState {
        volatile int self;
        volatile NodeStatus status = NodeStatus.ONLINE;
        volatile boolean loaded = true;

        @Override
        public boolean loaded() {
            return loaded;
        }

        @Override
        public int selfId() {
            return self;
        }

        @Override
        public Generation currentGeneration() {
            throw new UnsupportedOperationException("not needed by the gateway");
        }

        @Override
        public NodeStatus status() {
            return status;
        }

        @Override
        public StatusReport statusReport() {
            throw new UnsupportedOperationException("not needed by the gateway");
        }

        @Override
        public List<NodeReport> nodeReports() {
            throw new UnsupportedOperationException("not needed by the gateway");
        }

        @Override
        public org.mtm.api.ReplicationPlan replicationPlan() {
            return org.mtm.api.ReplicationPlan.NORMAL;
        }

        @Override
        public org.mtm.api.PrepareAdmission admitPrepare(long generation) {
            return org.mtm.api.PrepareAdmission.unchecked(org.mtm.api.PrepareAdmission.Verdict.APPLY, generation);
        }
    }

    private static final SettableClusterState STATE = new SettableClusterState();
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG).admission(new ClusterAdmission(() -> STATE));

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    private static Connection connect(String applicationName) throws SQLException {
        Properties p = new Properties();
        p.setProperty("ApplicationName", applicationName);
        return TestPostgres.connect(GW.endpoint(), p);
    }

    private static void await(String what, Await.Check check) throws InterruptedException {
        Await.until(Duration.ofSeconds(10), what, check);
    }

    private static int backends(String applicationName) {
        try (Connection c = PG.direct(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + applicationName + "'")) {
            rs.next();
            return rs.getInt(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    public void nodeThatIsNotOnlineRefusesEverythingButAdminSessions() throws Exception {
        try (Connection d = PG.direct(); Statement st = d.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS a (id int)");
        }
        try (Connection user = connect("app"); Connection admin = connect("mtm_admin");
             Statement us = user.createStatement(); Statement as = admin.createStatement()) {
            STATE.self = 0;
            STATE.status = NodeStatus.DISABLED;
            us.execute("SELECT 1"); // cluster not initialised: no refusal
            STATE.self = 1;
            STATE.status = NodeStatus.ISOLATED;
            SQLException e = assertThrows(SQLException.class, () -> us.executeQuery("SELECT 1"));
            assertEquals("57P03", e.getSQLState());
            assertTrue(e.getMessage(), e.getMessage().contains(
                    "[multimaster] node is not online: current status is \"isolated\""));
            as.executeQuery("SELECT 1").close();

            // inside a transaction the refusal fails the transaction; ROLLBACK is always allowed
            STATE.status = NodeStatus.ONLINE;
            user.setAutoCommit(false);
            us.executeUpdate("INSERT INTO a VALUES (1)");
            STATE.status = NodeStatus.RECOVERY;
            assertEquals("57P03", assertThrows(SQLException.class, () -> us.executeUpdate("INSERT INTO a VALUES (2)"))
                    .getSQLState());
            STATE.status = NodeStatus.ONLINE;
            assertEquals("25P02", assertThrows(SQLException.class, () -> us.executeQuery("SELECT 1")).getSQLState());
            user.rollback();
            // a COMMIT while not online is refused and the transaction rolled back
            us.executeUpdate("INSERT INTO a VALUES (3)");
            STATE.status = NodeStatus.CATCHUP;
            SQLException commit = assertThrows(SQLException.class, user::commit);
            assertEquals("57P03", commit.getSQLState());
            assertTrue(commit.getMessage().contains("\"catchup\""));
            STATE.status = NodeStatus.ONLINE;
            user.setAutoCommit(true);
            try (ResultSet rs = us.executeQuery("SELECT count(*) FROM a")) {
                rs.next();
                assertEquals(0, rs.getInt(1));
            }
        } finally {
            STATE.status = NodeStatus.ONLINE;
        }
    }

    @Test
    public void simpleProtocolRefusalsAnswerWithReadyForQuery() throws Exception {
        try (RawClient c = RawClient.open(GW.endpoint())) {
            STATE.self = 2;
            STATE.status = NodeStatus.DISABLED;
            c.query("SELECT 1; SELECT 2").flush();
            List<Msg> r = c.readUntilReady();
            assertEquals("EZ", types(r));
            assertEquals("57P03", first(r, 'E').field('C'));
            c.query("ROLLBACK").flush(); // allowed: answered by the server (a warning outside a block)
            assertEquals("CZ", types(c.readUntilReady()));
            c.run("SELECT 1").sync().flush();
            assertEquals("12EZ", types(c.readUntilReady()));
            STATE.status = NodeStatus.ONLINE;
            c.query("SELECT 1").flush();
            assertEquals("TDCZ", types(c.readUntilReady()));
        } finally {
            STATE.status = NodeStatus.ONLINE;
        }
    }

    @Test
    public void backendTerminatedByTheServerClosesTheClient() throws Exception {
        try (Connection c = connect("victim"); Statement st = c.createStatement()) {
            st.execute("SELECT 1");
            try (Connection d = PG.direct(); Statement ds = d.createStatement()) {
                ds.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim'");
            }
            SQLException e = assertThrows(SQLException.class, () -> st.execute("SELECT 1"));
            assertTrue(e.getSQLState(), e.getSQLState().startsWith("57P01") || e.getSQLState().startsWith("08"));
        }
        await("gateway session of the terminated backend to end", () -> GW.server().sessionCount() == 0);
    }

    @Test
    public void clientThatDisappearsTakesItsBackendWithIt() throws Exception {
        RawClient c = RawClient.open(GW.endpoint());
        c.query("SET application_name = 'vanishing'; BEGIN").flush();
        c.readUntilReady();
        assertEquals(1, backends("vanishing"));
        c.close(); // no Terminate: the socket just goes away
        await("backend of a vanished client to end", () -> backends("vanishing") == 0);
    }

    @Test
    public void stoppingTheGatewayEndsSessionsWithAdminShutdown() throws Exception {
        GatewayServer second = new GatewayServer(new GatewayServer.Settings("127.0.0.1", 0, PG::endpoint));
        try (RawClient c = RawClient.open(second.start())) {
            c.query("SELECT 1").flush();
            c.readUntilReady();
            second.close(Duration.ofSeconds(5));
            Msg m = c.read();
            assertEquals('E', m.type());
            assertEquals("FATAL", m.field('V'));
            assertEquals("57P01", m.field('C'));
            assertTrue(c.closedByPeer());
        }
        assertEquals(0, second.sessionCount());
        assertNull(assertThrows(java.io.IOException.class, () -> new RawClient(second.endpoint())).getCause());
    }
}
