package org.mtm.applier.internal;

import java.util.TreeMap;

/**
 * Which units of one stream (a prepared transaction, a COMMIT/ROLLBACK PREPARED, a plain transaction, a
 * skipped transaction — each named by its end LSN, increasing in stream order) are finished when they
 * finish out of order on parallel workers.
 *
 * <p>The <em>watermark</em> is the highest end LSN up to which every registered unit is finished. Only
 * a watermark may be recorded as the replication origin's progress or confirmed to the peer's slot: a
 * restart streams again from it, and everything before it is done. A unit finishing while every earlier
 * one is done may record its own end ({@link #recordable(long)}).
 *
 * <p>Thread-safe; waits end early with the failure given to {@link #fail}.
 */
final class Progress {
    private final TreeMap<Long, Boolean> open = new TreeMap<>(); // end LSN -> finished
    private long watermark;
    private long lastRegistered;
    private Exception failure;

    Progress(long start) {
        this.watermark = start;
        this.lastRegistered = start;
    }

    /** A unit that ends at {@code end} was dispatched (ends must increase). */
    synchronized void register(long end) {
        if (end <= lastRegistered) {
            throw new IllegalStateException("unit ending at " + end + " registered after one ending at " + lastRegistered
                    + ": the stream went backwards");
        }
        lastRegistered = end;
        open.put(end, Boolean.FALSE);
    }

    /**
     * A unit that ended at {@code end} and finished on the dispatcher's own thread, in stream order: registered and
     * finished at once. Nothing when {@code end} is not past the last unit registered (a unit read earlier and
     * finished late, which the units registered after it cover).
     */
    synchronized void finishedInOrder(long end) {
        if (end > lastRegistered) {
            register(end);
            done(end);
        }
    }

    /** The unit that ends at {@code end} is finished (durable here, or needs nothing here). */
    synchronized void done(long end) {
        if (open.replace(end, Boolean.TRUE) == null) {
            throw new IllegalStateException("unit ending at " + end + " finished but was never registered");
        }
        while (!open.isEmpty() && open.firstEntry().getValue()) {
            watermark = open.pollFirstEntry().getKey();
        }
        notifyAll();
    }

    synchronized long watermark() {
        return watermark;
    }

    /** {@code end} when every unit before it is finished, else the watermark: the progress it may record. */
    synchronized long recordable(long end) {
        return open.isEmpty() || open.firstKey() >= end ? end : watermark;
    }

    synchronized int unfinished() {
        int n = 0;
        for (boolean finished : open.values()) {
            n += finished ? 0 : 1;
        }
        return n;
    }

    /** Waits until every unit ending at or before {@code end} is finished. */
    synchronized void awaitUpTo(long end) throws Exception {
        while (!open.isEmpty() && open.firstKey() <= end) {
            checkFailure();
            wait();
        }
        checkFailure();
    }

    /** Waits until the unit ending at {@code end} is finished (earlier ones may still run). */
    synchronized void awaitUnit(long end) throws Exception {
        while (Boolean.FALSE.equals(open.get(end))) {
            checkFailure();
            wait();
        }
        checkFailure();
    }

    /** Like {@link #awaitUnit(long)}, but gives up after {@code timeoutMs}: true when the unit is finished. */
    synchronized boolean awaitUnit(long end, long timeoutMs) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (Boolean.FALSE.equals(open.get(end))) {
            checkFailure();
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        checkFailure();
        return true;
    }

    /** Waits until every registered unit is finished. */
    synchronized void awaitAll() throws Exception {
        awaitUpTo(lastRegistered);
    }

    /** A worker failed: every wait ends with {@code e}. The first failure is kept. */
    synchronized void fail(Exception e) {
        if (failure == null) {
            failure = e;
        }
        notifyAll();
    }

    synchronized void checkFailure() throws Exception {
        if (failure != null) {
            throw failure;
        }
    }
}
