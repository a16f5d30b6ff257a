package org.mtm.itests.harness;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

/**
 * Waiting for a condition with a deadline: probes every {@code interval} until the value satisfies the
 * condition or {@code timeout} passes, then fails with what was last seen. The only place tests sleep.
 */
public final class Poll {
    private Poll() {
    }

    /**
     * Returns the first value of {@code probe} that satisfies {@code ok}. A probe that throws counts as
     * "not yet"; the last exception or value is reported when the deadline passes.
     */
    public static <T> T until(String what, Duration timeout, Duration interval, Callable<T> probe, Predicate<? super T> ok) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Object last = null;
        Exception lastError = null;
        while (true) {
            try {
                T value = probe.call();
                if (value != null && ok.test(value)) {
                    return value;
                }
                last = value;
                lastError = null;
            } catch (Exception e) {
                lastError = e;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                AssertionError failure = new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what
                    + (lastError != null ? "; last error: " + lastError : "; last value: " + last));
                if (lastError != null) {
                    failure.initCause(lastError);
                }
                throw failure;
            }
            sleep(Math.min(interval.toNanos(), left));
        }
    }

    /** Waits until {@code condition} holds. */
    public static void until(String what, Duration timeout, Duration interval, Callable<Boolean> condition) {
        until(what, timeout, interval, condition, Boolean.TRUE::equals);
    }

    private static void sleep(long nanos) {
        try {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000)); // Poll is the harness's poll loop; its deadline is the caller's
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while polling", e);
        }
    }
}
