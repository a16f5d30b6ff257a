package org.mtm.applier.internal;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker threads of a parallel one-phase catch-up ({@link RecoveryApplier} with
 * {@code enable_async_3pc_on_catchup}): the receiver's thread hands them the committed two-phase units of the donor's
 * stream in the order of their {@code K}; a worker applies a unit once every unit that ended in the donor's stream
 * before that unit's PREPARE is finished here.
 *
 * <p>Why that is enough: on the donor a two-phase transaction held its locks from its first change until its
 * {@code K}. Two units whose PREPARE-to-K windows overlap in the donor's stream therefore held their locks at the same
 * time and cannot conflict (the argument of normal mode's parallel apply, DESIGN §2); only a unit that finished before
 * the other prepared can have left something the other read or changed. Units are taken first in, first out, so every
 * unit a worker waits for was taken by another worker before it: the waits cannot form a cycle.
 *
 * <p>Each worker has its own apply session under the worker origin {@code mtm_node_<donor>_<k>} (PostgreSQL 15 lets
 * one session at a time use an origin), committing asynchronously like the receiver's, and records as progress only
 * what {@link Progress#recordable} allows: normal mode later resumes after the highest progress of the donor's
 * origins, so a progress past a unit still running would skip that unit for good after a crash.
 *
 * <p>A worker's failure ends every wait with it ({@link Progress#fail}); the receiver's thread meets it at its next
 * message or sync check, and the recovery is streamed again from the slot's confirmed position.
 */
final class RecoveryWorkers implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RecoveryWorkers.class);
    private static final long POLL_MS = 100;
    private static final long JOIN_MS = 10_000;

    /** Opens the apply session of worker k (1..) under {@code mtm_node_<donor>_<k>}. */
    interface Sessions {
        ApplySession open(int worker) throws SQLException;
    }

    /** What a worker does with a unit, on its own {@link RecoveryApplier}. */
    interface Work {
        void run(RecoveryApplier worker) throws Exception;
    }

    /** A unit to apply once every unit ending at or before {@code after} is finished; it ends at {@code end}. */
    private record Job(long after, long end, Work work) {
    }

    private final int donor;
    private final Progress progress;
    private final Sessions sessions;
    private final Function<ApplySession, RecoveryApplier> appliers;
    private final BlockingQueue<Job> queue;
    private final List<Thread> threads = new ArrayList<>();
    private final List<ApplySession> open = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /**
     * @param count     worker threads, started at once; each opens its session with its first unit
     * @param appliers  a worker's applier on its session
     */
    RecoveryWorkers(int self, int donor, int count, Progress progress, Sessions sessions,
                    Function<ApplySession, RecoveryApplier> appliers) {
        this.donor = donor;
        this.progress = progress;
        this.sessions = sessions;
        this.appliers = appliers;
        this.queue = new ArrayBlockingQueue<>(4 * count);
        for (int k = 1; k <= count; k++) {
            int worker = k;
            Thread t = new Thread(() -> run(worker), "mtm-recovery-" + self + "-from-" + donor + "-" + k);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    int count() {
        return threads.size();
    }

    /** The sessions the workers have open now. */
    List<ApplySession> sessions() {
        return List.copyOf(open);
    }

    /**
     * Hands a unit to the workers (on the receiver's thread, in the order of the units' ends). Waits while every
     * worker is busy and the queue is full; throws a worker's failure.
     */
    void submit(long after, long end, Work work) throws Exception {
        progress.register(end);
        Job job = new Job(after, end, work);
        while (!queue.offer(job, POLL_MS, TimeUnit.MILLISECONDS)) {
            progress.checkFailure();
            if (closed) {
                throw new IllegalStateException("recovery workers of donor " + donor + " are closed");
            }
        }
    }

    private void run(int worker) {
        ApplySession session = null;
        RecoveryApplier applier = null;
        try {
            while (!closed) {
                Job job = queue.poll(POLL_MS, TimeUnit.MILLISECONDS);
                if (job == null) {
                    continue;
                }
                progress.awaitUpTo(job.after());
                if (applier == null) {
                    session = sessions.open(worker);
                    open.add(session);
                    session.commitAsynchronously();
                    applier = appliers.apply(session);
                }
                job.work().run(applier);
                progress.done(job.end());
            }
        } catch (Exception e) {
            if (!closed) {
                LOG.debug("recovery worker {} of donor {} failed", worker, donor, e);
                progress.fail(e);
            }
        } finally {
            if (session != null) {
                open.remove(session);
                session.close();
            }
        }
    }

    /**
     * Stops the workers: each finishes the statement it runs (cancelled if it does not end soon) and closes its
     * session; what was not committed is rolled back and streamed again.
     */
    @Override
    public void close() {
        closed = true;
        progress.fail(new IllegalStateException("recovery from donor " + donor + " stopped"));
        queue.clear();
        for (Thread t : threads) {
            try {
                t.join(JOIN_MS);
                if (t.isAlive()) {
                    for (ApplySession s : open) {
                        s.cancel();
                    }
                    t.join(JOIN_MS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
