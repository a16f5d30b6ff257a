package org.mtm.itests.replication;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;

/**
 * Issue 12: a client session with temporary tables (node-local stand-ins: unlogged tables in the session's schema
 * {@code mtm_temp_<pid>_<random>}) open on a node that then crashes or stops. After the node is back, none of its
 * sessions' stand-ins are left: the gateway sweeps the schemas whose backend is gone when it starts.
 */
final class TemporaryStandIns {
    private static final String SCHEMAS = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'mtm\\_temp\\_%'";
    /** The sweep runs when the gateway starts and every 10 s. */
    private static final Duration SWEPT = Duration.ofSeconds(30);

    private TemporaryStandIns() {
    }

    /**
     * A session of gateway {@code id} with a temporary table holding rows, used in a transaction that also wrote
     * the replicated table {@code table} (created here if missing); its stand-in exists on the node. The caller keeps
     * the connection open across the fault.
     */
    static Connection openSession(TestCluster cluster, int id, String table) throws SQLException {
        Sql.execute(cluster.gateway(id), "CREATE TABLE IF NOT EXISTS " + table + " (id int PRIMARY KEY, v text)");
        Connection c = cluster.viaGateway(id);
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE pending (id int, v text)");
            st.execute("INSERT INTO pending SELECT g, 'pending' FROM generate_series(1, 1000) g");
            c.setAutoCommit(false);
            st.execute("INSERT INTO " + table + " SELECT id, v FROM pending WHERE id <= 3 ON CONFLICT DO NOTHING");
            c.commit();
            c.setAutoCommit(true);
        }
        int stored = Integer.parseInt(Sql.scalar(cluster.postgres(id), SCHEMAS));
        assertTrue("node " + id + " holds the session's stand-in schema", stored >= 1);
        return c;
    }

    /** Node {@code id} is back: no stand-in schema of a session from before is left (none of its own is open). */
    static void assertNoneLeft(TestCluster cluster, int id) {
        Poll.until("node " + id + ": no stand-in of a temporary table is left after its restart", SWEPT,
            Duration.ofMillis(250), () -> "0".equals(Sql.scalar(cluster.postgres(id), SCHEMAS)));
        try {
            assertEquals("no relation 'pending' on node " + id, "0",
                Sql.scalar(cluster.postgres(id), "SELECT count(*) FROM pg_class WHERE relname = 'pending'"));
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException e) {
            // the node it went to is gone: nothing to close
        }
    }
}
