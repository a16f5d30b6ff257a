package org.mtm.applier.internal;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.mtm.applier.internal.WaitsFor.Edge;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part in global deadlock detection ({@link WaitsFor}): gathers the waits its lock watches find (one per
 * peer's stream), sends them to every peer on {@link org.mtm.api.Channels#LOCK_GRAPH} when they change and every
 * {@link #RESEND_MS} ms while there are any, takes the peers' reports as they arrive, and answers which of this
 * node's waiting applies are the victims of a cycle. Thread-safe: lock watches and the transport's thread call it.
 */
final class LockGraph {
    private static final Logger LOG = LoggerFactory.getLogger(LockGraph.class);
    /** A non-empty report is sent again this often, so that a peer's copy does not expire. */
    static final long RESEND_MS = 100;
    /** A report not renewed within this long is forgotten (its node crashed, left, or lost the link). */
    static final long EXPIRE_MS = 500;

    private final Consumer<byte[]> broadcast;
    private final WaitsFor graph = new WaitsFor();
    /** This node's waits, by the peer whose stream its lock watch watches. */
    private final Map<Integer, Set<Edge>> local = new HashMap<>();
    private Set<Edge> sent = Set.of();
    private long sentAt;

    /** @param broadcast sends a report to every peer (the transport); a node without peers passes a no-op */
    LockGraph(Consumer<byte[]> broadcast) {
        this.broadcast = broadcast;
    }

    /** The waits {@code stream}'s lock watch found now on node {@code self} (empty: none). */
    void reportLocal(int self, int stream, Set<Edge> edges) {
        byte[] payload = null;
        synchronized (this) {
            if (edges.isEmpty()) {
                local.remove(stream);
            } else {
                local.put(stream, Set.copyOf(edges));
            }
            Set<Edge> union = new HashSet<>();
            local.values().forEach(union::addAll);
            long now = System.nanoTime();
            graph.report(self, union, now);
            if (!union.equals(sent) || !union.isEmpty() && now - sentAt >= TimeUnit.MILLISECONDS.toNanos(RESEND_MS)) {
                payload = WaitsFor.encode(union);
                sent = union;
                sentAt = now;
            }
        }
        if (payload != null) {
            broadcast.accept(payload); // queued by the transport: not under the lock
        }
    }

    /** A peer's report (the transport's thread). */
    void received(int fromNode, byte[] payload) {
        Set<Edge> edges;
        try {
            edges = WaitsFor.decode(payload);
        } catch (IllegalArgumentException e) {
            LOG.warn("node {} sent a wait-for report this node cannot read ({}); ignored", fromNode, e.getMessage());
            return;
        }
        synchronized (this) {
            graph.report(fromNode, edges, System.nanoTime());
        }
    }

    /** This node's applies to cancel: the victims of the cycles their waits close. */
    synchronized Set<String> victims(int self) {
        graph.expire(System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(EXPIRE_MS));
        return graph.victims(self);
    }
}
