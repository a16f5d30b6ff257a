package org.mtm.applier.internal;

import java.util.Optional;

/**
 * Whether a receiver's stream is stuck on one transaction it can neither apply nor vote down (a plain transaction
 * committed on its origin outside the cluster's commit, or a user's own two-phase one; issue 8 part 4): the same
 * unit failed {@value #FAILURES} times in a row, with nothing finished beyond it in between (a stream streamed again
 * finishes the units it passes over before the failing one — other origins' transactions — every time). Such a node must not go on
 * claiming to be online while everything its peer sends afterwards waits behind that transaction: its status
 * becomes {@code disabled} and the cause is logged, until the transaction applies (after the schema is fixed on
 * this node, say) and the stream moves on. Pure; driven by the receiver's thread, read by any.
 */
final class ApplyStall {
    /** Consecutive failures of one unit that make a stall: a lock conflict gets two more attempts, a broken one fails alike each time. */
    static final int FAILURES = 3;

    private long position = -1;
    private int failures;
    private volatile String cause;

    /**
     * The unit after {@code position} (the end of the last unit finished, or the progress the stream was applied
     * from) failed with {@code message}. Returns true when this failure makes the stream stalled (once, for logging).
     */
    synchronized boolean failed(long position, String message) {
        if (position != this.position) {
            this.position = position;
            failures = 0;
        }
        failures++;
        if (failures >= FAILURES) {
            boolean first = cause == null;
            cause = message;
            return first;
        }
        return false;
    }

    /**
     * A unit ending at {@code lsn} was finished: beyond the failing one's start, the stream moves again. Returns true
     * when it was stalled.
     */
    synchronized boolean progressed(long lsn) {
        if (position >= 0 && lsn <= position) {
            return false; // passed over again on the way to the failing unit
        }
        boolean was = cause != null;
        position = -1;
        failures = 0;
        cause = null;
        return was;
    }

    /** The failure the stream is stuck on, or empty. */
    Optional<String> cause() {
        return Optional.ofNullable(cause);
    }
}
