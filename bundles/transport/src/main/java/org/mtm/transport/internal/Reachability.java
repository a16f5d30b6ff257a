package org.mtm.transport.internal;

import java.util.concurrent.atomic.AtomicLongArray;
import org.mtm.api.NodeSet;

/**
 * Which peers we heard from within {@code heartbeat_recv_timeout}. {@link #heard} is called from any I/O
 * thread on every frame and costs one array store; the reachable set changes only in {@link #evaluate},
 * which one thread calls, so transitions are reported exactly once and in order. Times are
 * {@link System#nanoTime()} values passed in, so the rules are tested without clocks.
 */
final class Reachability {
    private static final long NEVER = Long.MIN_VALUE;

    /** The transitions one {@link #evaluate} found. */
    record Transitions(NodeSet becameReachable, NodeSet becameUnreachable) {
        boolean isEmpty() {
            return becameReachable.isEmpty() && becameUnreachable.isEmpty();
        }
    }

    private final AtomicLongArray lastHeard = new AtomicLongArray(NodeSet.MAX_NODE_ID + 1);
    private volatile NodeSet reachable = NodeSet.EMPTY;

    Reachability() {
        for (int i = 0; i < lastHeard.length(); i++) {
            lastHeard.set(i, NEVER);
        }
    }

    /** Something arrived from {@code peer} at {@code nowNanos}. Any thread. */
    void heard(int peer, long nowNanos) {
        lastHeard.set(peer, nowNanos);
    }

    /** Forgets everything heard from {@code peer} (it left the configuration). */
    void forget(int peer) {
        lastHeard.set(peer, NEVER);
    }

    /** Empties the reachable set (the transport stops); returns what it held. */
    NodeSet clear() {
        NodeSet before = reachable;
        reachable = NodeSet.EMPTY;
        return before;
    }

    NodeSet reachable() {
        return reachable;
    }

    boolean isReachable(int peer) {
        return reachable.contains(peer);
    }

    /**
     * Recomputes the reachable set among {@code configured} peers: reachable while the last frame is
     * younger than {@code recvTimeoutNanos}. Called by one thread only.
     */
    Transitions evaluate(long nowNanos, long recvTimeoutNanos, NodeSet configured) {
        NodeSet now = NodeSet.EMPTY;
        for (int peer : configured.ids()) {
            long last = lastHeard.get(peer);
            if (last != NEVER && nowNanos - last < recvTimeoutNanos) {
                now = now.with(peer);
            }
        }
        NodeSet before = reachable;
        reachable = now;
        return new Transitions(now.minus(before), before.minus(now));
    }
}
