package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** The lock bounds of applied transactions. */
public class LockBoundsTest {

    @Test
    public void anMtmApplyWaitsSomewhereInTheUpperHalfOfTheBound() {
        assertEquals(500, ApplySession.spreadLockTimeout(1000, 0.0));
        assertEquals(750, ApplySession.spreadLockTimeout(1000, 0.5));
        assertTrue(ApplySession.spreadLockTimeout(1000, 0.999_999) <= 1000);
        assertEquals("never 0, which would mean no bound at all", 1, ApplySession.spreadLockTimeout(1, 0.0));
    }

    @Test
    public void theServersDeadlockTimeoutCapsTheBound() {
        assertEquals(300, ApplierSettings.sessionLockTimeout(1000, 300));
        assertEquals(1000, ApplierSettings.sessionLockTimeout(1000, 1000));
        assertEquals(1000, ApplierSettings.sessionLockTimeout(1000, 60_000));
        assertEquals("never below the smallest bound", ApplierSettings.MIN_LOCK_TIMEOUT_MS, ApplierSettings.sessionLockTimeout(1000, 5));
    }

    @Test
    public void derivedFromTheHeartbeatTimeout() {
        assertEquals(1000, ApplierSettings.lockTimeoutFor(2000));
        assertEquals(ApplierSettings.MIN_LOCK_TIMEOUT_MS, ApplierSettings.lockTimeoutFor(10));
        assertEquals("a transaction that cannot be voted down waits ten bounds", 10, ApplySession.UNVOTED_LOCK_FACTOR);
    }
}
