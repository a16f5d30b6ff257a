package org.mtm.applier.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Map;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * An apply session's bookkeeping on a real PostgreSQL: what the applied-already check finds (the guard against
 * applying a re-sent transaction twice), the {@code mtm.applied_xacts} row and origin progress each finish leaves, and
 * that the statements are planned once per session rather than once per transaction.
 */
public class ApplyBookkeepingTest {

    @ClassRule
    public static final PgNodes NODES = new PgNodes(1);

    private static final int SELF = 1;
    private static final int PEER = 2;
    // each test its own worker origin (mtm_node_2_<n>, made on first use): an origin stays busy until its backend exits

    @Test
    public void aTransactionIsFoundAppliedWhilePreparedAndOnceLogged() throws Exception {
        try (ApplySession s = ApplySession.open(NODES.node(SELF), SELF, PEER, 1, new ApplierSettings(500, 1))) {
            String gid = "MTM-2-1-100";
            assertFalse("nothing of it here yet", s.begin(gid, 0x1000, true));
            s.prepare(gid, 0x1000, 0x1000, 0);
            assertTrue("prepared here", s.begin(gid, 0x1000, true));
            assertTrue(s.commitPrepared(gid, 0x1100, 0));
            assertTrue("logged as (peer, end of its PREPARE)", s.begin(gid, 0x1000, true));
            assertTrue("logged, found by its unit alone", s.begin(null, 0x1000, false));
            assertTrue("logged, found by gid under any origin", s.begin(gid, true, 3, 0, true));

            assertFalse("another unit of the same stream", s.begin("MTM-2-1-101", 0x2000, true));
            s.rollback();
            assertFalse("the gid under another origin's unit, not looked up by gid", s.begin(gid, false, 3, 0x1000, true));
            s.rollback();
            assertFalse("no gid, no unit: nothing to find", s.begin(null, 0, false));
            s.rollback();

            assertEquals("2|0/1000|MTM-2-1-100", NODES.scalar(SELF,
                    "SELECT origin || '|' || lsn || '|' || gid FROM mtm.applied_xacts WHERE gid = 'MTM-2-1-100'"));
            assertEquals("the COMMIT PREPARED recorded its end as the origin's progress", "0/1100",
                    NODES.scalar(SELF, "SELECT pg_replication_origin_progress('mtm_node_2_1', true)"));
            assertEquals("nothing left prepared", "0", NODES.scalar(SELF, "SELECT count(*) FROM pg_prepared_xacts"));
        }
    }

    @Test
    public void aOnePhaseCommitIsLoggedAsItsPrepareWouldBe() throws Exception {
        try (ApplySession s = ApplySession.open(NODES.node(SELF), SELF, PEER, 2, new ApplierSettings(500, 1))) {
            assertFalse(s.begin("MTM-2-1-200", 0x3000, true));
            s.commitOnePhase(3, "MTM-2-1-200", 0x3000, 0x3100, 0);
            assertEquals("3|0/3000", NODES.scalar(SELF, "SELECT origin || '|' || lsn FROM mtm.applied_xacts WHERE gid = 'MTM-2-1-200'"));
            assertTrue(s.begin("MTM-2-1-200", true, 3, 0x3000, true));
        }
    }

    @Test
    public void theTransactionGetsItsOwnLockBound() throws Exception {
        try (ApplySession s = ApplySession.open(NODES.node(SELF), SELF, PEER, 3, new ApplierSettings(500, 1))) {
            assertFalse(s.begin("MTM-2-1-300", 0x4000, false));
            assertEquals("an unvoted transaction waits ten bounds", "5s", s.setting("lock_timeout"));
            s.rollback();
            assertEquals("the session's own bound outside it", "500ms", s.setting("lock_timeout"));
        }
    }

    @Test
    public void theBookkeepingIsPlannedOncePerSession() throws Exception {
        try (ApplySession s = ApplySession.open(NODES.node(SELF), SELF, PEER, 4, new ApplierSettings(500, 1))) {
            for (int i = 0; i < 20; i++) {
                String gid = "MTM-2-1-" + (1000 + i);
                long unit = 0x10000 + i * 0x100;
                assertFalse(s.begin(gid, unit, true));
                s.prepare(gid, unit, unit, 0);
                assertTrue(s.commitPrepared(gid, unit + 0x10, 0));
            }
            Map<String, long[]> plans = s.bookkeepingPlans();
            // PostgreSQL plans the first five runs for their values, then keeps one plan when it costs no more
            for (String name : new String[] {ApplyBookkeeping.BEGIN, ApplyBookkeeping.LOG, ApplyBookkeeping.ORIGIN}) {
                assertArrayEquals(name + ": {generic, custom} runs", new long[] {15, 5}, plans.get(name));
            }
        }
    }
}
