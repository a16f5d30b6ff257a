package org.mtm.applier.internal;

import java.sql.Connection;
import java.sql.Statement;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.postgres.internal.WalFlush;

/**
 * A sync point makes the asynchronous commits before it durable: the recovery confirms the donor's slot up to what a
 * sync point covered, so WAL still unflushed then could be lost by a crash of this node's PostgreSQL, and the donor
 * would never send it again. The WAL writer here sleeps 10 s between rounds, so only the sync point's own flush can
 * move the flush position in the test's time (without writing WAL of its own it did not: session 25).
 */
public class SyncPointTest {

    @ClassRule
    public static final PgNodes NODES = new PgNodes(1).with(WalFlush.LAZY_WAL_WRITER);

    @Test
    public void theAsynchronousCommitsBeforeASyncPointAreFlushed() throws Exception {
        try (Connection c = NODES.node(1).connect(); Statement st = c.createStatement();
             ApplySession s = ApplySession.open(NODES.node(1), 1, 2, 1, new ApplierSettings(500, 1))) {
            st.execute("CREATE TABLE IF NOT EXISTS sync_point_rows (id int)");
            s.commitAsynchronously();
            for (int round = 0; round < 5; round++) {
                st.execute("SET synchronous_commit = off");
                st.execute("INSERT INTO sync_point_rows VALUES (" + round + ")"); // committed, not flushed
                s.syncPoint();
                WalFlush.assertFlushed(st, "round " + round + ", after the sync point");
            }
        }
    }
}
