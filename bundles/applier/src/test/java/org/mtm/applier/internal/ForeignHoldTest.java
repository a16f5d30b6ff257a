package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Begin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Commit;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Origin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;

/**
 * How far a normal receiver may confirm its peer's slot (node 2's, streamed by node 3) around the units the peer
 * applied from another origin. Checking the local database ({@code recheck}) is covered by
 * {@link RecoveryTest#aPeersSlotStaysConfirmedBeforeAnotherOriginsTransactionUntilThisNodeHasIt}.
 */
public class ForeignHoldTest {
    private static final long FINISHED = 1_000_000;

    private final ForeignHold hold = new ForeignHold(null, 3);

    /** A two-phase unit of the peer's stream whose PREPARE starts at {@code lsn} and ends 100 bytes later. */
    private void prepared(long lsn, String gid, String origin) {
        hold.seen(new BeginPrepare(lsn, lsn + 100, 0, lsn, gid));
        if (origin != null) {
            hold.seen(new Origin(lsn - 500, origin));
        }
        hold.seen(new Prepare(0, lsn, lsn + 100, 0, lsn, gid));
    }

    @Test
    public void thePeersOwnTransactionsAreNeverHeld() {
        prepared(1000, "MTM-2-7-1", null);
        hold.seen(new CommitPrepared(0, 1200, 1300, 0, 1000, "MTM-2-7-1"));
        hold.seen(new Begin(1500, 0, 8));
        hold.seen(new Commit(0, 1500, 1600, 0));
        assertFalse(hold.holding());
        assertEquals(FINISHED, hold.confirmable(FINISHED));
    }

    @Test
    public void aPreparedUnitOfAnotherOriginHoldsTheSlotBeforeItsPrepare() {
        prepared(1000, "MTM-2-7-1", null);
        prepared(2000, "MTM-1-9-1", "mtm_node_1");
        prepared(3000, "MTM-2-8-1", null);
        assertTrue(hold.holding());
        assertEquals("a restart of the peer's stream from the confirmed position decodes the PREPARE again",
                1999, hold.confirmable(FINISHED));
        assertEquals("below the hold, what is finished", 1100, hold.confirmable(1100));
    }

    @Test
    public void theFirstHeldUnitCountsAndARollbackInTheStreamReleasesIt() {
        prepared(2000, "MTM-1-9-1", "mtm_node_1");
        prepared(3000, "MTM-1-10-1", "mtm_node_1_2"); // applied on the peer by one of its apply workers
        assertEquals(1999, hold.confirmable(FINISHED));
        hold.seen(new RollbackPrepared(0, 2100, 3500, 0, 0, 2000, "MTM-1-9-1"));
        assertEquals("the next held unit", 2999, hold.confirmable(FINISHED));
        hold.seen(new RollbackPrepared(0, 3100, 3600, 0, 0, 3000, "MTM-1-10-1"));
        assertFalse(hold.holding());
        assertEquals(FINISHED, hold.confirmable(FINISHED));
    }

    @Test
    public void aCommitPreparedInTheStreamDoesNotRelease() {
        prepared(2000, "MTM-1-9-1", "mtm_node_1");
        hold.seen(new CommitPrepared(0, 2500, 2600, 0, 2000, "MTM-1-9-1"));
        assertEquals("committed on the peer, maybe not here yet: only the local database tells", 1999,
                hold.confirmable(FINISHED));
    }

    @Test
    public void plainTransactionsOfAnotherOriginAreNotHeld() {
        hold.seen(new Begin(2000, 0, 9));
        hold.seen(new Origin(400, "mtm_node_1"));
        hold.seen(new Commit(0, 2000, 2100, 0));
        prepared(3000, "MTM-2-8-1", null);
        assertFalse("an administrative bypass of 3PC", hold.holding());
        assertEquals(FINISHED, hold.confirmable(FINISHED));
    }

    @Test
    public void thisNodesOwnTransactionsAppliedByThePeerAreNeverHeld() {
        prepared(2000, "MTM-3-9-1", "mtm_node_3");
        prepared(3000, "MTM-3-10-1", "mtm_node_3_2"); // by one of the peer's apply workers
        prepared(4000, "user-gid", "mtm_node_3"); // not an MTM- gid: the origin tells
        prepared(5000, "MTM-3-11-1", "mtm_node_1"); // relayed through a third node: the gid tells
        assertFalse("committed here, neither prepared nor in mtm.applied_xacts: it would stay held for good",
                hold.holding());
        assertEquals(FINISHED, hold.confirmable(FINISHED));
    }

    @Test
    public void anotherNodesTransactionWhoseOriginOnlyStartsLikeThisNodesIsHeld() {
        prepared(2000, "MTM-31-9-1", "mtm_node_31");
        assertEquals(1999, hold.confirmable(FINISHED));
    }
}
