package org.mtm.applier.internal;

import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * A sync point makes the asynchronous commits before it durable: the recovery confirms the donor's slot up to what a
 * sync point covered, so WAL still unflushed then could be lost by a crash of this node's PostgreSQL, and the donor
 * would never send it again. The WAL writer here sleeps 10 s between rounds, so only the sync point's own flush can
 * move the flush position in the test's time (without writing WAL of its own it did not: session 25).
 */
public class SyncPointTest {

    @ClassRule
    public static final PgNodes NODES = new PgNodes(1).with("wal_writer_delay", "10s");

    @Test
    public void theAsynchronousCommitsBeforeASyncPointAreFlushed() throws Exception {
        try (Connection c = NODES.node(1).connect(); Statement st = c.createStatement();
             ApplySession s = ApplySession.open(NODES.node(1), 1, 2, 1, new ApplierSettings(500, 1))) {
            st.execute("CREATE TABLE IF NOT EXISTS sync_point_rows (id int)");
            s.commitAsynchronously();
            for (int round = 0; round < 5; round++) {
                st.execute("SET synchronous_commit = off");
                st.execute("INSERT INTO sync_point_rows VALUES (" + round + ")"); // committed, not flushed
                long committed = lsn(st, "pg_current_wal_insert_lsn()");
                s.syncPoint();
                long flushed = lsn(st, "pg_current_wal_flush_lsn()");
                assertTrue("round " + round + ": flushed up to " + Long.toHexString(flushed) + ", the asynchronous commit "
                        + "ended at " + Long.toHexString(committed), flushed >= committed);
            }
        }
    }

    private static long lsn(Statement st, String function) throws Exception {
        try (ResultSet rs = st.executeQuery("SELECT " + function + " - '0/0'::pg_lsn")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
