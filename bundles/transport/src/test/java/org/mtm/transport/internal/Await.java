package org.mtm.transport.internal;

import static org.junit.Assert.fail;

import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polls a condition until a deadline; the only way these tests wait. */
final class Await {
    private Await() {
    }

    static void until(long timeoutMillis, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeoutMillis + " ms waiting for " + what);
            }
            pause();
        }
    }

    /** Waits until {@code value} equals {@code expected}, and reports the last value seen on timeout. */
    static <T> void equal(long timeoutMillis, String what, T expected, Supplier<T> value) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        T last;
        while (!expected.equals(last = value.get())) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeoutMillis + " ms waiting for " + what + " = " + expected + ", last " + last);
            }
            pause();
        }
    }

    /** Asserts {@code condition} stays true for {@code millis}. */
    static void holds(long millis, String what, BooleanSupplier condition) {
        long end = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < end) {
            if (!condition.getAsBoolean()) {
                fail("expected to hold for " + millis + " ms: " + what);
            }
            pause();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
