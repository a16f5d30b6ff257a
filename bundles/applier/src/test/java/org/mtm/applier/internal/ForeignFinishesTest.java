package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** Which COMMIT/ROLLBACK PREPARED of peer 2's stream belong to another stream. */
public class ForeignFinishesTest {

    @Test
    public void anotherOriginsGidIsSkippedEvenWithoutHavingSeenItsPrepare() {
        ForeignFinishes f = new ForeignFinishes(2);
        assertTrue("applied on node 2 from node 1: node 1's stream finishes it", f.skip(700, "MTM-1-42-1"));
        assertTrue(f.skip(701, "MTM-3-42-1"));
        assertFalse("node 2's own transaction", f.skip(702, "MTM-2-42-1"));
    }

    @Test
    public void aUserGidIsSkippedExactlyWhenItsPrepareWasSkipped() {
        ForeignFinishes f = new ForeignFinishes(2);
        f.skippedPrepare(800);
        assertTrue("b…P skipped as applied from elsewhere", f.skip(800, "my tx"));
        assertEquals("forgotten once finished", 0, f.remembered());
        assertFalse("a user gid applied from this stream, or before its start", f.skip(801, "my tx"));
        assertFalse("a malformed MTM- name has no other origin", f.skip(802, "MTM-x"));
    }

    @Test
    public void theSkippedPrepareWinsOverTheGidAndMemoryIsBounded() {
        ForeignFinishes f = new ForeignFinishes(2);
        f.skippedPrepare(5);
        assertTrue(f.skip(5, "MTM-2-9-1"));
        for (long xid = 0; xid < ForeignFinishes.MAX_REMEMBERED + 10; xid++) {
            f.skippedPrepare(xid);
        }
        assertEquals(ForeignFinishes.MAX_REMEMBERED, f.remembered());
        assertFalse("the oldest are forgotten first", f.skip(3, "user"));
        assertTrue(f.skip(ForeignFinishes.MAX_REMEMBERED + 9, "user"));
    }
}
