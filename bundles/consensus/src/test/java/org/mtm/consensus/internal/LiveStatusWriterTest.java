package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.ReceiverMode;
import org.mtm.api.StatusReport;
import org.mtm.postgres.internal.JdbcClusterCatalog;
import org.mtm.postgres.internal.ManagedPostgres;
import org.mtm.postgres.internal.TestDirs;
import org.mtm.postgres.internal.WalFlush;

/**
 * The node's live view publication (issue 8's visibility-map flake): an unchanged view is not written again, so the
 * half-second publication takes no transaction id and commits nothing — its asynchronous commits (unlogged tables, no
 * WAL) kept VACUUM from setting the visibility map of a table loaded just before.
 */
public class LiveStatusWriterTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;
    private static JdbcClusterCatalog catalog;

    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final StatusReport ONLINE = new StatusReport(1, NodeStatus.ONLINE, ALL, 1, ALL, ALL, ALL);
    private static final List<NodeReport> NODES = List.of(
        new NodeReport(1, "port=5001", true, true, true, null, null, 0, null),
        new NodeReport(2, "port=5002", false, true, true, 4242, 4343, 0, ReceiverMode.NORMAL),
        new NodeReport(3, "port=5003", false, true, true, 4244, 4345, 0, ReceiverMode.NORMAL));

    @BeforeClass
    public static void start() throws Exception {
        // the WAL writer flushes an asynchronous commit only after 10 s (PostgreSQL's longest delay): the window in
        // which such a commit hinders hint bits, a few hundred ms on a loaded machine, made wide
        pg = DIRS.startSmallServer(WalFlush.LAZY_WAL_WRITER);
        catalog = new JdbcClusterCatalog(pg);
    }

    @AfterClass
    public static void stop() {
        if (catalog != null) {
            catalog.deactivate();
        }
    }

    @Test
    public void anUnchangedViewIsNotWrittenAgainAndTakesNoTransactionId() throws SQLException {
        try (Connection c = pg.connect(); Connection observer = pg.connect()) {
            LiveStatusWriter writer = new LiveStatusWriter(c);
            assertTrue("the first publication writes", writer.publish(ONLINE, NODES, null));
            long before = nextXid(observer);
            for (int i = 0; i < 5; i++) {
                assertFalse("the same view again is not written", writer.publish(ONLINE, List.copyOf(NODES), null));
            }
            assertEquals("transaction ids taken by 5 publications of an unchanged view", 0, nextXid(observer) - before);
            assertEquals("online", status(observer));
            // a change is written at once
            StatusReport isolated = new StatusReport(1, NodeStatus.ISOLATED, NodeSet.of(1), 1, ALL, NodeSet.of(1), ALL);
            assertTrue(writer.publish(isolated, NODES, null));
            assertEquals("isolated", status(observer));
            // and so is a view that is not there any more (an unlogged table after a crash), or not this writer's
            try (Statement st = observer.createStatement()) {
                st.execute("DELETE FROM mtm.live_status");
            }
            assertTrue(writer.publish(isolated, NODES, null));
            assertEquals("isolated", status(observer));
            try (Connection other = pg.connect()) {
                LiveStatusWriter.write(other, ONLINE, NODES, null);
            }
            assertTrue(writer.publish(isolated, NODES, null));
            assertEquals("isolated", status(observer));
        }
    }

    /** The confirmation without a write keeps the view fresh for mtm.status(), however old the row. */
    @Test
    public void theWritersStatementsKeepAnUnchangedViewFresh() throws SQLException {
        try (Connection c = pg.connect(); Connection observer = pg.connect()) {
            LiveStatusWriter writer = new LiveStatusWriter(c);
            writer.publish(ONLINE, NODES, null);
            try (Statement st = observer.createStatement()) {
                st.execute("UPDATE mtm.live_status SET updated_at = now() - interval '1 minute'");
            }
            assertFalse(writer.publish(ONLINE, NODES, null));
            assertEquals("online", status(observer));
        }
    }

    /**
     * The symptom: a table loaded and VACUUMed at once, as the regression suite's test_setup does through the cluster,
     * with a publication between the load and the VACUUM (transaction ids of one group of 32, PostgreSQL's unit of
     * commit LSNs). Writing the view again committed asynchronously; until that commit was flushed no hint bit could be
     * set on the load's rows and VACUUM left every page out of the visibility map.
     */
    @Test
    public void aPublicationBetweenALoadAndItsVacuumLeavesTheVisibilityMapSet() throws SQLException {
        try (Connection c = pg.connect(); Connection user = pg.connect(); Statement st = user.createStatement()) {
            LiveStatusWriter writer = new LiveStatusWriter(c);
            writer.publish(ONLINE, NODES, null);
            st.execute("DROP TABLE IF EXISTS loaded");
            // the load's xid and the next ones in one group of 32
            while (nextXid(user) % 32 > 24) {
                st.executeQuery("SELECT pg_catalog.txid_current()").close();
            }
            user.setAutoCommit(false);
            st.execute("CREATE TABLE loaded (id int, pad text)");
            st.execute("INSERT INTO loaded SELECT g, repeat('x', 100) FROM generate_series(1, 10000) g");
            user.commit();
            user.setAutoCommit(true);
            writer.publish(ONLINE, NODES, null);
            st.execute("VACUUM loaded");
            try (ResultSet rs = st.executeQuery("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'loaded'")) {
                assertTrue(rs.next());
                assertTrue(rs.getInt(1) > 100);
                assertEquals("all-visible pages of " + rs.getInt(1), rs.getInt(1), rs.getInt(2));
            }
        }
    }

    /** The next transaction id to be assigned. */
    private static long nextXid(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text::bigint")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String status(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT status FROM mtm.status()")) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }
}
