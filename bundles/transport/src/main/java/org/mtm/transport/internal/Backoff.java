package org.mtm.transport.internal;

/** Reconnect delays: doubling from {@code minMillis} up to {@code maxMillis}, back to the start on success. */
final class Backoff {
    private final long minMillis;
    private final long maxMillis;
    private long next;

    Backoff(long minMillis, long maxMillis) {
        if (minMillis <= 0 || maxMillis < minMillis) {
            throw new IllegalArgumentException("backoff needs 0 < min <= max, got " + minMillis + ".." + maxMillis);
        }
        this.minMillis = minMillis;
        this.maxMillis = maxMillis;
        this.next = minMillis;
    }

    long nextDelayMillis() {
        long d = next;
        next = Math.min(maxMillis, next * 2);
        return d;
    }

    void reset() {
        next = minMillis;
    }
}
