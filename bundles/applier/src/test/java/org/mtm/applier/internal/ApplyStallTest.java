package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Optional;
import org.junit.Test;

public class ApplyStallTest {

    @Test
    public void theSameUnitFailingThreeTimesStallsTheStreamOnce() {
        ApplyStall stall = new ApplyStall();
        assertFalse(stall.failed(100, "relation zz does not exist"));
        assertFalse(stall.failed(100, "relation zz does not exist"));
        assertEquals(Optional.empty(), stall.cause());
        assertTrue("the third failure stalls", stall.failed(100, "relation zz does not exist"));
        assertEquals(Optional.of("relation zz does not exist"), stall.cause());
        assertFalse("reported once", stall.failed(100, "relation zz does not exist (again)"));
        assertEquals("the latest cause is shown", Optional.of("relation zz does not exist (again)"), stall.cause());
    }

    @Test
    public void failuresOfDifferentUnitsDoNotAddUp() {
        ApplyStall stall = new ApplyStall();
        stall.failed(100, "a");
        stall.failed(100, "a");
        assertFalse("another position starts counting again", stall.failed(200, "b"));
        assertFalse(stall.failed(200, "b"));
        assertEquals(Optional.empty(), stall.cause());
    }

    @Test
    public void aFinishedUnitEndsTheStall() {
        ApplyStall stall = new ApplyStall();
        for (int i = 0; i < ApplyStall.FAILURES; i++) {
            stall.failed(100, "x");
        }
        assertTrue(stall.cause().isPresent());
        assertFalse("a unit before the failing one, passed over again", stall.progressed(90));
        assertFalse(stall.progressed(100));
        assertTrue(stall.cause().isPresent());
        assertTrue("it was stalled", stall.progressed(150));
        assertEquals(Optional.empty(), stall.cause());
        assertFalse(stall.progressed(160));
        assertFalse("counting starts again", stall.failed(100, "x"));
    }
}
