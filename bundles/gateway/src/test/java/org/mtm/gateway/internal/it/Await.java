package org.mtm.gateway.internal.it;

import java.time.Duration;

/** Polls a condition until it holds or a deadline passes: the one way the gateway's tests wait. */
public final class Await {
    /** A condition; an exception counts as "not yet". */
    public interface Check {
        boolean ok() throws Exception;
    }

    private Await() {
    }

    public static void until(String what, Duration timeout, Check check) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                if (check.ok()) {
                    return;
                }
            } catch (Exception e) {
                // not yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
