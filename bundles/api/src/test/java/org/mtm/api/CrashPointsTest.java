package org.mtm.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.concurrent.atomic.AtomicInteger;

import org.junit.After;
import org.junit.Test;
import org.mtm.api.CrashPoints.Point;

/**
 * The arming rules, with the {@code postgres} target only (the others halt the JVM). The gate is read when the
 * class initialises, so it is set here before anything touches {@link CrashPoints}; no other test of this module does.
 */
public class CrashPointsTest {
    static {
        System.setProperty(CrashPoints.ENABLE_PROPERTY, "true");
    }

    private final AtomicInteger kills = new AtomicInteger();

    @After
    public void disarm() {
        System.clearProperty(CrashPoints.ARMED_PROPERTY);
    }

    @Test
    public void firesAtItsOwnPointOnceAndClearsItself() {
        CrashPoints.killPostgresWith(kills::incrementAndGet);
        System.setProperty(CrashPoints.ARMED_PROPERTY, "peer_after_prepare:postgres");
        CrashPoints.reach(Point.AFTER_LOCAL_PREPARE, "MTM-1-10-1");
        assertEquals("another point does not fire", 0, kills.get());
        CrashPoints.reach(Point.PEER_AFTER_PREPARE, "MTM-1-10-1");
        assertEquals(1, kills.get());
        assertNull("cleared when it fired", System.getProperty(CrashPoints.ARMED_PROPERTY));
        CrashPoints.reach(Point.PEER_AFTER_PREPARE, "MTM-1-11-1");
        assertEquals("once per arming", 1, kills.get());
    }

    @Test
    public void aLinkCutSilencesTheTransportForItsTimeThenHeals() {
        System.setProperty(CrashPoints.LINK_CUT_PROPERTY, "300");
        try {
            org.junit.Assert.assertFalse(CrashPoints.linksCut());
            System.setProperty(CrashPoints.ARMED_PROPERTY, "after_all_prepared:link");
            CrashPoints.reach(Point.AFTER_ALL_PREPARED, "MTM-1-13-1");
            org.junit.Assert.assertTrue("cut at once", CrashPoints.linksCut());
            org.mtm.testing.Await.until(5_000, "the cut heals", () -> !CrashPoints.linksCut());
        } finally {
            System.clearProperty(CrashPoints.LINK_CUT_PROPERTY);
        }
    }

    @Test
    public void anUnknownSettingIsClearedWithoutCrashing() {
        CrashPoints.killPostgresWith(kills::incrementAndGet);
        System.setProperty(CrashPoints.ARMED_PROPERTY, "AFTER_LUNCH:postgres");
        CrashPoints.reach(Point.AFTER_LOCAL_PREPARE, "MTM-1-12-1");
        assertEquals(0, kills.get());
        assertNull(System.getProperty(CrashPoints.ARMED_PROPERTY));
    }
}
