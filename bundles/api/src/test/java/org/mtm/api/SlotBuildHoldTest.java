package org.mtm.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** The slot maker's rule (the SQL around it runs on real servers in the applier's SlotsBuiltDuringCatchUpDdlTest). */
public class SlotBuildHoldTest {

    @Test
    public void noSlotIsBuiltWhileATransactionIsPrepared() {
        assertEquals(SlotBuildHold.Step.WAIT_FOR_PREPARED, SlotBuildHold.next(1, false));
        assertEquals("not even with the catch-up held: the slot would wait for what only the catch-up finishes",
            SlotBuildHold.Step.WAIT_FOR_PREPARED, SlotBuildHold.next(3, true));
    }

    @Test
    public void withNothingPreparedTheCatchUpIsHeldFirstThenTheSlotsAreBuilt() {
        assertEquals(SlotBuildHold.Step.HOLD, SlotBuildHold.next(0, false));
        assertEquals(SlotBuildHold.Step.BUILD, SlotBuildHold.next(0, true));
    }

    @Test
    public void aUnitTakesTheLockSharedAndWaitsLongerThanTheMakerHolds() {
        assertTrue(SlotBuildHold.UNIT_SQL.contains("pg_advisory_xact_lock_shared(" + SlotBuildHold.KEY1 + ", "
            + SlotBuildHold.KEY2 + ")"));
        assertTrue(SlotBuildHold.UNIT_WAIT_MS > SlotBuildHold.HOLD_WAIT_MS + SlotBuildHold.BUILD_WAIT_MS);
    }
}
