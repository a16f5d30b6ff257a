package org.mtm.admin.internal.jmx;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class RegistryWatchTest {
    @Test
    public void aRegistryThatAnswersIsLeftAlone() {
        RegistryWatch watch = new RegistryWatch(8_000, 30_000);
        for (long t = 0; t < 120_000; t += 5_000) {
            assertFalse("restart at " + t, watch.restartAfter(true, t));
        }
    }

    @Test
    public void oneMissedProbeIsNotEnoughButAConfirmedSilenceIs() {
        RegistryWatch watch = new RegistryWatch(8_000, 30_000);
        assertFalse(watch.restartAfter(false, 0));
        assertFalse(watch.restartAfter(false, 5_000));
        assertTrue(watch.restartAfter(false, 10_000));
    }

    @Test
    public void anAnswerBetweenMissesStartsTheConfirmationAgain() {
        RegistryWatch watch = new RegistryWatch(8_000, 30_000);
        assertFalse(watch.restartAfter(false, 0));
        assertFalse(watch.restartAfter(true, 5_000));
        assertFalse(watch.restartAfter(false, 10_000));
        assertFalse(watch.restartAfter(false, 15_000));
        assertTrue(watch.restartAfter(false, 20_000));
    }

    @Test
    public void aPortKeptTakenCostsOneRestartPerSpacing() {
        RegistryWatch watch = new RegistryWatch(8_000, 30_000);
        int restarts = 0;
        for (long t = 0; t <= 125_000; t += 5_000) {
            if (watch.restartAfter(false, t)) {
                restarts++;
            }
        }
        // at 10 s, then no sooner than 30 s apart with a fresh confirmation each time: 40, 70, 100 s
        assertEquals("restarts at 10, 40, 70 and 100 s", 4, restarts);
    }

    @Test
    public void negativeBoundsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RegistryWatch(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> new RegistryWatch(0, -1));
    }
}
