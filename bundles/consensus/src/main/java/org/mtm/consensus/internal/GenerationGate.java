package org.mtm.consensus.internal;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.mtm.api.Gid;
import org.osgi.service.component.annotations.Component;

/**
 * A generation switch excludes concurrent PREPAREs (DESIGN §3). The switch logs the node's ParallelSafe marker, and
 * a node recovering from it takes everything before the marker as "older generations" and nothing after; so no
 * PREPARE of an older generation may land after the marker in this node's WAL.
 *
 * <ul>
 * <li>The applier's PREPAREs are synchronous: each runs under the {@link #applierLock() read lock}, which the switch
 *     takes for writing.</li>
 * <li>The coordinator's local PREPAREs are asynchronous (the gateway runs them): a transaction {@link #enter enters}
 *     when it is stamped with the generation and {@link #leave leaves} once its PREPARE returned. A switch in between
 *     dooms it: its PREPARE may follow the marker, so it must be aborted everywhere (40001).</li>
 * <li>A transaction that arrives at its stamping while a switch runs has prepared nothing yet: it is told to wait
 *     for {@link #switchEnded()} and be stamped again (issue 15: the bulk of the 40001s clients saw at a generation
 *     switch were refusals of this kind, a writer refused again and again for the switch's duration).</li>
 * </ul>
 */
@Component(service = GenerationGate.class)
public final class GenerationGate {
    /** The generation number while a switch runs: nothing enters. */
    private static final long SWITCHING = -1;

    private final ReentrantReadWriteLock appliers = new ReentrantReadWriteLock();
    private final Object lock = new Object();
    /** Current generation number (0 before the state is loaded; then nothing is stamped anyway). */
    private long generation;
    /** Transactions between stamping and the end of their local PREPARE: gid → doomed by a switch. */
    private final Map<Gid, Boolean> preparing = new HashMap<>();
    /** Completed when the switch under way ends; a completed future while none runs. */
    private CompletableFuture<Void> switchEnd = CompletableFuture.completedFuture(null);

    /** Why {@link #tryEnter} did not let a transaction in. */
    public enum Entry {
        /** Entered: prepare it and {@link #leave} after. */
        ENTERED,
        /** A switch runs: nothing is prepared yet; wait for {@link #switchEnded()} and stamp it again. */
        SWITCHING,
        /** Stamped with another generation than the gate's (no switch runs): refuse it. */
        STALE
    }

    /** The generation read from PostgreSQL when the node's state is (re)loaded. */
    public void loaded(long generationNum) {
        synchronized (lock) {
            generation = generationNum;
        }
    }

    /** A transaction stamped {@code gid} is about to be prepared here; false when its generation is no longer current. */
    public boolean enter(Gid gid) {
        return tryEnter(gid) == Entry.ENTERED;
    }

    /** {@link #enter}, telling a switch under way (wait and stamp again) from a stale stamp. */
    public Entry tryEnter(Gid gid) {
        synchronized (lock) {
            if (generation == SWITCHING) {
                return Entry.SWITCHING;
            }
            if (gid.generation() != generation) {
                return Entry.STALE;
            }
            preparing.put(gid, Boolean.FALSE);
            return Entry.ENTERED;
        }
    }

    /** Completes once no switch runs (at once when none does). */
    public CompletableFuture<Void> switchEnded() {
        synchronized (lock) {
            return switchEnd;
        }
    }

    /** The generation transactions are stamped with now; -1 while a switch runs. */
    public long generation() {
        synchronized (lock) {
            return generation;
        }
    }

    /**
     * The local PREPARE of {@code gid} returned (or failed). True when no switch happened since {@link #enter}: the
     * PREPARE precedes any marker logged since.
     */
    public boolean leave(Gid gid) {
        synchronized (lock) {
            return Boolean.FALSE.equals(preparing.remove(gid));
        }
    }

    /** Held by the applier around each PREPARE of a peer's transaction (see {@code ClusterState#admitPrepare}). */
    public Lock applierLock() {
        return appliers.readLock();
    }

    /** Something a switch runs while PREPAREs are excluded: persists the new state and logs the marker. */
    public interface Switch {
        void run() throws Exception;
    }

    /**
     * Runs {@code change} with every PREPARE excluded: applier PREPAREs wait, coordinator PREPAREs in progress are
     * doomed, none is stamped meanwhile. On success the gate's generation is {@code newGeneration}, otherwise the old.
     */
    public void switchTo(long newGeneration, Switch change) throws Exception {
        appliers.writeLock().lock();
        long old;
        CompletableFuture<Void> ended = new CompletableFuture<>();
        synchronized (lock) {
            old = generation;
            generation = SWITCHING;
            switchEnd = ended;
            preparing.replaceAll((gid, doomed) -> Boolean.TRUE);
        }
        boolean done = false;
        try {
            change.run();
            done = true;
        } finally {
            synchronized (lock) {
                generation = done ? newGeneration : old;
                switchEnd = CompletableFuture.completedFuture(null);
            }
            appliers.writeLock().unlock();
            // off this thread: a waiting commit goes on to begin() and must not run inside the switch's caller
            java.util.concurrent.ForkJoinPool.commonPool().execute(() -> ended.complete(null));
        }
    }
}
