package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Begin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Commit;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamPrepare;

/**
 * When a receiver holding its peer's slot may block on the stream: while a PREPARE it carried still owes its
 * COMMIT/ROLLBACK PREPARED. The hold's own rules are {@link ForeignHoldTest}'s; {@code RecoveryTest} checks that an
 * idle peer's slot is still confirmed.
 */
public class OwedFinishesTest {
    private final OwedFinishes owed = new OwedFinishes();

    private void prepared(long lsn, String gid) {
        owed.seen(new BeginPrepare(lsn, lsn + 100, 0, lsn, gid));
        owed.seen(new Prepare(0, lsn, lsn + 100, 0, lsn, gid));
    }

    @Test
    public void aFreshStreamOwesNothing() {
        assertFalse(owed.any());
    }

    @Test
    public void aPrepareOwesItsCommitPrepared() {
        prepared(100, "MTM-2-10-1");
        assertTrue(owed.any());
        owed.seen(new CommitPrepared(0, 300, 400, 0, 10, "MTM-2-10-1"));
        assertFalse(owed.any());
    }

    @Test
    public void aRollbackPreparedPaysToo() {
        prepared(100, "MTM-2-10-1");
        owed.seen(new RollbackPrepared(0, 200, 400, 0, 0, 10, "MTM-2-10-1"));
        assertFalse(owed.any());
    }

    @Test
    public void concurrentPreparesAreOwedUntilEachIsFinished() {
        prepared(100, "MTM-2-10-1");
        prepared(200, "MTM-1-11-1"); // another origin's copy, applied by the peer: its finish comes through too
        owed.seen(new StreamPrepare(0, 300, 350, 0, 12, "MTM-2-12-1"));
        assertEquals(3, owed.size());
        owed.seen(new CommitPrepared(0, 400, 450, 0, 11, "MTM-1-11-1"));
        owed.seen(new CommitPrepared(0, 500, 550, 0, 10, "MTM-2-10-1"));
        assertTrue(owed.any());
        owed.seen(new RollbackPrepared(0, 350, 650, 0, 0, 12, "MTM-2-12-1"));
        assertFalse(owed.any());
    }

    @Test
    public void aFinishWithoutItsPrepareInThisStreamOwesNothing() {
        // the stream resumed after the PREPARE: only the COMMIT PREPARED comes
        owed.seen(new CommitPrepared(0, 400, 450, 0, 10, "MTM-2-10-1"));
        assertFalse(owed.any());
    }

    @Test
    public void plainTransactionsOweNothing() {
        owed.seen(new Begin(200, 0, 5));
        owed.seen(new Commit(0, 200, 250, 0));
        assertFalse(owed.any());
    }
}
