package org.mtm.transport.internal;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an attempt on {@code executor} until it succeeds, waiting longer after each failure (the local
 * database may still be starting). The first failure is a WARN, later ones DEBUG, success after
 * failures an INFO. Stops when cancelled or the executor shuts down.
 */
final class RetryingTask {
    private static final Logger LOG = LoggerFactory.getLogger(RetryingTask.class);

    /** One attempt; throwing means try again later. */
    interface Attempt {
        void run() throws Exception;
    }

    private final ScheduledExecutorService executor;
    private final String what;
    private final Attempt attempt;
    private final Backoff backoff;
    private volatile boolean cancelled;
    private volatile boolean done;
    private int failures;

    RetryingTask(ScheduledExecutorService executor, String what, Attempt attempt, long minDelayMillis, long maxDelayMillis) {
        this.executor = executor;
        this.what = what;
        this.attempt = attempt;
        this.backoff = new Backoff(minDelayMillis, maxDelayMillis);
    }

    RetryingTask start() {
        schedule(0);
        return this;
    }

    void cancel() {
        cancelled = true;
    }

    boolean isDone() {
        return done;
    }

    private void schedule(long delayMillis) {
        try {
            executor.schedule(this::runOnce, delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            LOG.debug("not retrying to {}: shutting down", what);
        }
    }

    private void runOnce() {
        if (cancelled) {
            return;
        }
        try {
            attempt.run();
            done = true;
            if (failures > 0) {
                LOG.info("managed to {} after {} failed attempts", what, failures);
            }
        } catch (Exception e) {
            failures++;
            long delay = backoff.nextDelayMillis();
            if (failures == 1) {
                LOG.warn("cannot {} yet ({}); retrying with backoff", what, e.toString());
            } else {
                LOG.debug("cannot {} (attempt {}): {}; retrying in {} ms", what, failures, e.toString(), delay);
            }
            schedule(delay);
        }
    }
}
