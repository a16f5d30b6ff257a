package org.mtm.applier.internal;

/** Reconnect delays: doubling from {@code initialMs} up to {@code capMs}; reset after a good connection. */
final class Backoff {
    private final long initialMs;
    private final long capMs;
    private long nextMs;

    Backoff(long initialMs, long capMs) {
        if (initialMs < 1 || capMs < initialMs) {
            throw new IllegalArgumentException("backoff needs 0 < initial <= cap, got " + initialMs + ", " + capMs);
        }
        this.initialMs = initialMs;
        this.capMs = capMs;
        this.nextMs = initialMs;
    }

    /** The delay to wait now; the following one doubles, up to the cap. */
    synchronized long next() {
        long d = nextMs;
        nextMs = Math.min(capMs, nextMs * 2);
        return d;
    }

    synchronized void reset() {
        nextMs = initialMs;
    }
}
