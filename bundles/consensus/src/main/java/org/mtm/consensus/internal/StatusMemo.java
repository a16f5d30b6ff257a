package org.mtm.consensus.internal;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.mtm.api.NodeStatus;

/**
 * The node's status as last computed, reused for a short while. The gateway admits every statement by the status
 * and the coordinator every commit: computed afresh each time (connectivity matrix, largest clique, the appliers'
 * stall check) it was ~12 % of the gateway's event loops (session 24's profile). Inputs that change by time or by
 * peers' messages (beacons, reachability, recovery) are seen at most {@code reuseNanos} late — far below the
 * heartbeat timeouts that detect such changes in the first place; a change the owner makes itself (a generation
 * saved or loaded, the node disabled) calls {@link #invalidate()} and is seen at once. Safe to call from any thread.
 */
final class StatusMemo {
    private record Entry(NodeStatus status, long at, long epoch) {
    }

    private final long reuseNanos;
    private final LongSupplier clock;
    private final AtomicLong epoch = new AtomicLong();
    private volatile Entry last;

    StatusMemo(long reuseNanos, LongSupplier clock) {
        this.reuseNanos = reuseNanos;
        this.clock = clock;
    }

    /** The last status if computed less than {@code reuseNanos} ago and nothing was invalidated since; else {@code compute}'s. */
    NodeStatus get(Supplier<NodeStatus> compute) {
        long now = clock.getAsLong();
        long e = epoch.get(); // read before computing: an invalidation during the computation leaves a stale epoch behind
        Entry l = last;
        if (l != null && l.epoch == e && now - l.at < reuseNanos) {
            return l.status;
        }
        NodeStatus status = compute.get();
        last = new Entry(status, now, e);
        return status;
    }

    /** The next {@link #get} computes afresh. */
    void invalidate() {
        epoch.incrementAndGet();
    }
}
