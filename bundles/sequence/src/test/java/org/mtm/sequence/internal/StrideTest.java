package org.mtm.sequence.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class StrideTest {

    @Test
    public void manualExampleThreeNodes() {
        // node 1 hands out 1, 4, 7; node 2 hands out 2, 5, 8
        assertTrue(Stride.owns(1, 3, 1));
        assertTrue(Stride.owns(4, 3, 1));
        assertTrue(Stride.owns(8, 3, 2));
        assertFalse(Stride.owns(8, 3, 1));
    }

    @Test
    public void restartIsAboveLastValueAndOwned() {
        for (long last = -10; last < 50; last++) {
            for (int node = 1; node <= 5; node++) {
                long r = Stride.restartValue(last, 5, node);
                assertTrue(r > last);
                assertTrue(Stride.owns(r, 5, node));
                assertTrue("restart skips at most one round", r - last <= 2 * 5);
            }
        }
        assertEquals(11, Stride.restartValue(7, 5, 1));
        assertEquals(13, Stride.restartValue(7, 5, 3));
    }

    @Test
    public void rejectsNodeOutsideRange() {
        assertThrows(IllegalArgumentException.class, () -> Stride.restartValue(1, 3, 4));
        assertThrows(IllegalArgumentException.class, () -> Stride.restartValue(1, 3, 0));
    }

    @Test
    public void quotesIdentifiers() {
        assertEquals("\"a\"\"b\"", StrideSequenceAllocator.quoteIdent("a\"b"));
    }
}
