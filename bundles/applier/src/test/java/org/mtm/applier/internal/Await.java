package org.mtm.applier.internal;

import static org.junit.Assert.fail;

import java.time.Duration;

/** Polls a condition until it holds or a deadline passes (never an unbounded or bare sleep). */
final class Await {
    interface Check {
        boolean holds() throws Exception;
    }

    private Await() {
    }

    static void until(Duration timeout, String what, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (check.holds()) {
                    return;
                }
                last = null;
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(20);
        }
        fail("not within " + timeout + ": " + what + (last == null ? "" : " (last error: " + last + ")"));
    }
}
