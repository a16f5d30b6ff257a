package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class CatchUpDelayTest {
    private static final long KB = 1024;
    private static final long MB = 1024 * KB;

    @Test
    public void offByDefaultAndWithoutALaggingPeer() {
        assertEquals(0, CatchUpDelay.delayMs(false, 0, 100 * MB));
        assertEquals("no peer catching up", 0, CatchUpDelay.delayMs(true, 0, -1));
        assertEquals("about to join", 0, CatchUpDelay.delayMs(true, 0, 256 * KB));
    }

    @Test
    public void growsWithTheLagFromOneMillisecondToFourSeconds() {
        assertEquals(1, CatchUpDelay.delayMs(true, 0, 256 * KB + 1));
        assertEquals(4, CatchUpDelay.delayMs(true, 0, MB));
        assertEquals(64, CatchUpDelay.delayMs(true, 0, 16 * MB));
        assertEquals(4_000, CatchUpDelay.delayMs(true, 0, 10_000 * MB));
    }

    @Test
    public void maxTxDelayBoundsItAndIsClampedToTheManualsRange() {
        assertEquals(50, CatchUpDelay.delayMs(true, 50, 16 * MB));
        assertEquals(4, CatchUpDelay.delayMs(true, 50, MB));
        assertEquals("above 4 s: 4 s", 4_000, CatchUpDelay.delayMs(true, 1_000_000, 10_000 * MB));
        assertEquals("0: no bound of its own", 4_000, CatchUpDelay.delayMs(true, 0, 10_000 * MB));
        assertEquals("negative: as 0", 64, CatchUpDelay.delayMs(true, -5, 16 * MB));
    }
}
