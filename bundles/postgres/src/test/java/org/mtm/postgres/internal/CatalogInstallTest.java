package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * Installing schema mtm again — every activation of the catalog does, a bundle update included — while a
 * prepared transaction holds a row lock in an mtm table (an applied transaction waiting for its commit, which
 * only this node's receivers can bring): it must neither wait for that transaction nor fail.
 */
public class CatalogInstallTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.startSmallServer();
        try (Connection c = pg.connect()) {
            CatalogSchema.install(c);
        }
    }

    @Test
    public void theSameVersionIsNotInstalledAgainAndAnUpgradeDoesNotWaitForPreparedTransactions() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            assertEquals(CatalogSchema.MARK, CatalogSchema.installedMark(c));
            st.execute("BEGIN");
            st.execute("INSERT INTO mtm.applied_xacts (origin, lsn, gid) VALUES (2, '0/1', 'MTM-2-1-1')");
            st.execute("PREPARE TRANSACTION 'MTM-2-1-1'");
            try {
                st.execute("SET lock_timeout = '3s'"); // a wait for the prepared transaction fails the test instead of hanging it
                CatalogSchema.install(c); // the same version: nothing to do
                st.execute("COMMENT ON SCHEMA mtm IS 'mtm catalog of an older version'");
                CatalogSchema.install(c); // an upgrade: every statement runs, none waits for the prepared transaction
                assertEquals(CatalogSchema.MARK, CatalogSchema.installedMark(c));
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_indexes WHERE indexname = 'applied_xacts_gid'")) {
                    rs.next();
                    assertEquals(1, rs.getInt(1));
                }
            } finally {
                st.execute("ROLLBACK PREPARED 'MTM-2-1-1'");
            }
        }
    }

    /**
     * An upgrade makes an event trigger of an earlier version again when its tags changed (mtm_stride_sequences gained
     * CREATE SCHEMA: CREATE SCHEMA ... CREATE TABLE (serial) left its sequences unstrided), and keeps ENABLE ALWAYS.
     */
    @Test
    public void anUpgradeMakesAnEventTriggerWithOtherTagsAgain() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("DROP EVENT TRIGGER mtm_stride_sequences");
            st.execute("CREATE EVENT TRIGGER mtm_stride_sequences ON ddl_command_end WHEN TAG IN ('CREATE SEQUENCE', 'ALTER SEQUENCE',"
                + " 'CREATE TABLE', 'ALTER TABLE') EXECUTE FUNCTION mtm.stride_new_sequences()");
            st.execute("COMMENT ON SCHEMA mtm IS 'mtm catalog of an older version'");
            CatalogSchema.install(c);
            try (ResultSet rs = st.executeQuery("SELECT array_to_string(evttags, ','), evtenabled FROM pg_event_trigger"
                    + " WHERE evtname = 'mtm_stride_sequences'")) {
                rs.next();
                assertEquals("CREATE SEQUENCE,ALTER SEQUENCE,CREATE TABLE,ALTER TABLE,CREATE SCHEMA", rs.getString(1));
                assertEquals("A", rs.getString(2));
            }
            // the same tags in another order: left as it is (made again, it would have lost ENABLE ALWAYS)
            st.execute("SELECT mtm.ensure_event_trigger('mtm_stride_sequences', 'ddl_command_end', 'mtm.stride_new_sequences',"
                + " ARRAY['CREATE SCHEMA', 'ALTER TABLE', 'CREATE TABLE', 'ALTER SEQUENCE', 'CREATE SEQUENCE'], false)");
            try (ResultSet rs = st.executeQuery("SELECT evtenabled FROM pg_event_trigger WHERE evtname = 'mtm_stride_sequences'")) {
                rs.next();
                assertEquals("A", rs.getString(1));
            }
        }
    }

    /**
     * An upgrade sets ENABLE ALWAYS on the event triggers an earlier version made ordinary: the cluster's checks must
     * fire in a gateway session that set session_replication_role = replica too (PostgreSQL's regression file rules
     * does, then ENABLE REPLICA RULE; pg_restore --disable-triggers does), where an ordinary one does not.
     */
    @Test
    public void anUpgradeMakesTheClustersOrdinaryEventTriggersAlways() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            for (String trigger : List.of("mtm_refuse_replica_mode_trigger", "mtm_refuse_unannounced_ddl")) {
                assertEquals(trigger, "A", enabled(st, trigger));
                st.execute("ALTER EVENT TRIGGER " + trigger + " ENABLE");
            }
            st.execute("COMMENT ON SCHEMA mtm IS 'mtm catalog of an older version'");
            CatalogSchema.install(c);
            try (ResultSet rs = st.executeQuery("SELECT string_agg(evtname, ', ' ORDER BY evtname) FROM pg_event_trigger"
                    + " WHERE evtname LIKE 'mtm\\_%' AND evtenabled <> 'A'")) {
                rs.next();
                assertEquals("the cluster's event triggers not ENABLE ALWAYS", null, rs.getString(1));
            }
        }
    }

    private static String enabled(Statement st, String trigger) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT evtenabled FROM pg_event_trigger WHERE evtname = '" + trigger + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * mtm.in_doubt lists this node's prepared MTM- transactions with their origin, generation, what the resolver knows
     * (mtm.transactions) and their age; other prepared transactions are not the cluster's and are left out.
     */
    @Test
    public void inDoubtListsPreparedClusterTransactionsWithOriginStateAndAge() throws Exception {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            st.execute("PREPARE TRANSACTION 'MTM-3-4242-7'");
            st.execute("BEGIN");
            st.execute("PREPARE TRANSACTION 'MTM-2-17-7'");
            // the acceptor records its precommit outside the prepared transaction
            st.execute("INSERT INTO mtm.transactions (gid, coordinator, generation, status) VALUES ('MTM-2-17-7', 2, 7, 'pc')");
            st.execute("BEGIN");
            st.execute("PREPARE TRANSACTION 'not-a-cluster-transaction'");
            try {
                Thread.sleep(1100); // an age of at least a second
                st.execute("CREATE ROLE mtm_in_doubt_reader LOGIN");
                st.execute("SET ROLE mtm_in_doubt_reader"); // any role may read the view (not mtm.transactions)
                java.util.Map<String, String> rows = new java.util.TreeMap<>();
                try (ResultSet rs = st.executeQuery("SELECT gid, origin_node, generation, state, age >= interval '1 second',"
                        + " prepared <= now() FROM mtm.in_doubt ORDER BY gid")) {
                    while (rs.next()) {
                        rows.put(rs.getString(1), rs.getInt(2) + " " + rs.getLong(3) + " " + rs.getString(4) + " "
                            + rs.getBoolean(5) + " " + rs.getBoolean(6));
                    }
                }
                assertEquals(java.util.Map.of("MTM-2-17-7", "2 7 precommitted true true", "MTM-3-4242-7", "3 7 prepared true true"),
                    rows);
                // the one reader behind mtm:in-doubt, the MBean's listInDoubt and the status page: oldest first
                java.util.List<org.mtm.api.InDoubtTransactions.Row> read = org.mtm.api.InDoubtTransactions.read(c);
                assertEquals(java.util.List.of("MTM-3-4242-7 3 7 prepared", "MTM-2-17-7 2 7 precommitted"), read.stream()
                    .map(r -> r.gid() + " " + r.originNode() + " " + r.generation() + " " + r.state()).toList());
                for (org.mtm.api.InDoubtTransactions.Row r : read) {
                    org.junit.Assert.assertTrue(r + " at least a second old", r.ageMs() >= 1000 && r.age().endsWith(" s"));
                    org.junit.Assert.assertFalse(r + " has its prepared time", r.prepared().isEmpty());
                }
            } finally {
                st.execute("RESET ROLE");
                st.execute("DROP ROLE IF EXISTS mtm_in_doubt_reader");
                st.execute("ROLLBACK PREPARED 'MTM-3-4242-7'");
                st.execute("ROLLBACK PREPARED 'MTM-2-17-7'");
                st.execute("ROLLBACK PREPARED 'not-a-cluster-transaction'");
                st.execute("DELETE FROM mtm.transactions WHERE gid = 'MTM-2-17-7'");
            }
        }
    }

    @Test
    public void theMarkChangesWithTheScript() {
        assertNotEquals("mtm catalog of an older version", CatalogSchema.MARK);
        assertEquals("mtm catalog ".length() + 24, CatalogSchema.MARK.length());
    }
}
