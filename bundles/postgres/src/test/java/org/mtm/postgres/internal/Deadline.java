package org.mtm.postgres.internal;

import static org.junit.Assert.fail;

import java.util.function.BooleanSupplier;

/** Polling with a deadline, for tests: fails naming what did not happen. */
final class Deadline {
    private Deadline() {
    }

    static void await(String what, long timeoutMillis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + timeoutMillis + " ms: " + what);
            }
            Thread.sleep(20);
        }
    }
}
