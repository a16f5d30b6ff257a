package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.api.NodeStatus;
import org.mtm.gateway.internal.commit.ClusterAdmission;
import org.mtm.gateway.internal.commit.CoordinatedCommitter;
import org.mtm.gateway.internal.commit.TransactionCommitter;

/**
 * Autocommit reads through a wrapping gateway (an initialised cluster): a query whose text reads only runs as the
 * client sent it, unwrapped, in a read-only transaction — no gateway BEGIN, no commit through the committer — so a
 * write it hides fails instead of committing on this node alone; anything else is wrapped as before. Both protocols.
 */
public class ReadsThroughGatewayTest {
    /** Counts the commits the gateway hands to the committer (wrapped autocommit work and COMMITs). */
    private static final AtomicInteger COMMITS = new AtomicInteger();
    private static final TransactionCommitter LOCAL =
            new CoordinatedCommitter(() -> CoordinatedCommitter.Standing.NOT_INITIALISED, () -> null);
    private static final TransactionCommitter COUNTING = tx -> {
        COMMITS.incrementAndGet();
        return LOCAL.commit(tx);
    };
    private static final SessionLifecycleTest.SettableClusterState STATE = new SessionLifecycleTest.SettableClusterState();
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG, true).committer(COUNTING)
            .admission(new ClusterAdmission(() -> STATE));

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @Before
    public void fresh() throws SQLException {
        STATE.self = 1;
        STATE.status = NodeStatus.ONLINE;
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("DROP VIEW IF EXISTS hidden_write");
            st.execute("DROP TABLE IF EXISTS t");
            st.execute("CREATE TABLE t (id int PRIMARY KEY)");
            st.execute("CREATE OR REPLACE FUNCTION write_one() RETURNS int LANGUAGE sql AS 'INSERT INTO t VALUES (1) RETURNING 1'");
            st.execute("CREATE VIEW hidden_write AS SELECT write_one() AS x");
        }
        COMMITS.set(0);
    }

    private static Connection connect(String mode) throws SQLException {
        return TestPostgres.connect(GW.endpoint(), "preferQueryMode", mode);
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static long rows() throws SQLException {
        try (Connection c = PG.direct()) {
            return Long.parseLong(one(c, "SELECT count(*) FROM t"));
        }
    }

    @Test
    public void autocommitReadRunsUnwrappedInAReadOnlyTransaction() throws SQLException {
        for (String mode : new String[] {"simple", "extended", "extendedForPrepared"}) {
            try (Connection c = connect(mode)) {
                assertEquals(mode, "on", one(c, "SELECT current_setting('transaction_read_only')"));
                try (PreparedStatement ps = c.prepareStatement("SELECT current_setting('transaction_read_only'), ?::int")) {
                    for (int i = 0; i < 7; i++) { // past pgjdbc's prepareThreshold: a named statement
                        ps.setInt(1, i);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            assertEquals(mode, "on", rs.getString(1));
                            assertEquals(i, rs.getInt(2));
                        }
                    }
                }
                // the session stays as the client left it: the next transaction is read-write again, also after a
                // savepoint is rolled back
                assertEquals(mode, "off", one(c, "SHOW transaction_read_only"));
                c.setAutoCommit(false);
                c.createStatement().execute("SAVEPOINT s");
                c.createStatement().execute("SET transaction_read_only = off");
                c.createStatement().execute("ROLLBACK TO SAVEPOINT s");
                assertEquals(mode, "off", one(c, "SHOW transaction_read_only"));
                c.rollback();
                c.setAutoCommit(true);
                assertEquals(mode, "off", one(c, "SHOW default_transaction_read_only"));
            }
        }
        assertEquals("no read went through the committer", 0, COMMITS.get());
    }

    @Test
    public void aWriteHiddenFromTheTextFailsInsteadOfCommittingOnOneNode() throws SQLException {
        for (String mode : new String[] {"simple", "extended"}) {
            try (Connection c = connect(mode)) {
                SQLException e = assertThrows(SQLException.class, () -> one(c, "SELECT x FROM hidden_write"));
                assertEquals(mode, "25006", e.getSQLState());
                assertEquals(mode, "1", one(c, "SELECT 1")); // the session goes on
            }
        }
        assertEquals(0, rows());
    }

    @Test
    public void aQueryThatMayWriteIsStillWrappedAndCommittedByTheCommitter() throws SQLException {
        for (String mode : new String[] {"simple", "extended"}) {
            try (Connection c = connect(mode)) {
                assertEquals(mode, "off", one(c, "SELECT current_setting('transaction_read_only') FROM (SELECT write_one()) w"));
                c.createStatement().execute("DELETE FROM t");
            }
        }
        assertEquals(4, COMMITS.get()); // each SELECT and each DELETE
        assertEquals(0, rows());
    }

    @Test
    public void readsInsideTheClientsTransactionAreLeftAlone() throws SQLException {
        for (String mode : new String[] {"simple", "extended"}) {
            try (Connection c = connect(mode)) {
                c.setAutoCommit(false);
                assertEquals(mode, "off", one(c, "SELECT current_setting('transaction_read_only')"));
                assertEquals(mode, "1", one(c, "SELECT x FROM hidden_write"));
                c.commit();
                c.setAutoCommit(true);
                c.createStatement().execute("DELETE FROM t");
            }
        }
        assertEquals(0, rows());
    }

    @Test
    public void aReadAfterAFailedStatementOfTheGatewaysRunsAllTheSame() throws SQLException {
        // the gateway refuses the statement inside the transaction by raising an error in a statement of its own,
        // whose Closes the backend then skips: the next read's guard closes what it left
        for (String mode : new String[] {"simple", "extended"}) {
            try (Connection c = connect(mode)) {
                c.setAutoCommit(false);
                assertEquals(mode, "1", one(c, "SELECT 1"));
                SQLException e = assertThrows(SQLException.class,
                        () -> c.createStatement().execute("CREATE TABLESPACE ts LOCATION '/nonexistent'"));
                assertEquals(mode, "0A000", e.getSQLState());
                c.rollback();
                c.setAutoCommit(true);
                assertEquals(mode, "on", one(c, "SELECT current_setting('transaction_read_only')"));
                assertEquals(mode, "on", one(c, "SELECT current_setting('transaction_read_only')"));
            }
        }
    }

    @Test
    public void aNodeThatIsNotOnlineRefusesReadsToo() throws SQLException {
        for (String mode : new String[] {"simple", "extended"}) {
            try (Connection c = connect(mode)) {
                STATE.status = NodeStatus.RECOVERY;
                assertEquals(mode, "57P03", assertThrows(SQLException.class, () -> one(c, "SELECT 1")).getSQLState());
                STATE.status = NodeStatus.ONLINE;
                assertEquals(mode, "1", one(c, "SELECT 1"));
            }
        }
    }
}
