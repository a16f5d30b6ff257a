package org.mtm.testing;

import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * Polls a condition until it holds or a deadline passes: the one way the bundles' tests wait (never a bare sleep).
 * Shared through mtm-api's test-jar. A check that throws counts as "not yet"; the last exception is reported.
 */
public final class Await {
    /** A condition to wait for. */
    public interface Check {
        boolean holds() throws Exception;
    }

    private static final long PAUSE_MILLIS = 5;

    private Await() {
    }

    public static void until(Duration timeout, String what, Check check) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (true) {
            try {
                if (check.holds()) {
                    return;
                }
                last = null;
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what
                        + (last == null ? "" : " (last error: " + last + ")"));
            }
            pause();
        }
    }

    public static void until(long timeoutMillis, String what, Check check) {
        until(Duration.ofMillis(timeoutMillis), what, check);
    }

    /** Until {@code value} equals {@code expected}; the last value seen is reported on timeout. */
    public static <T> void equal(long timeoutMillis, String what, T expected, Callable<T> value) {
        Object[] last = {null};
        try {
            until(timeoutMillis, what + " = " + expected, () -> expected.equals(last[0] = value.call()));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ", last " + last[0], e);
        }
    }

    /** Asserts that {@code condition} holds throughout {@code millis}. */
    public static void holds(long millis, String what, Check condition) {
        long end = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() - end < 0) {
            boolean ok;
            try {
                ok = condition.holds();
            } catch (Exception e) {
                throw new AssertionError("expected to hold for " + millis + " ms: " + what + " (" + e + ")", e);
            }
            if (!ok) {
                throw new AssertionError("expected to hold for " + millis + " ms: " + what);
            }
            pause();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(PAUSE_MILLIS); // Await is the poll loop the tests share; its deadline is the caller's
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting", e);
        }
    }
}
