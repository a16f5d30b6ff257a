package org.mtm.api;

/**
 * Messages between the Karaf nodes of a cluster. Each node keeps one outbound connection to every
 * peer for what it sends and accepts one inbound connection from every peer for what it receives, so
 * requests and replies never queue behind each other on one channel. Peers prove they know the
 * cluster secret before anything else is read from them.
 */
public interface Transport {

    /** Peers we have heard from within {@code heartbeat_recv_timeout} (heartbeats or any message). */
    NodeSet reachablePeers();

    /**
     * False while this node's view of who is reachable is still forming: after the transport (re)started or
     * the peers changed, until every configured peer has been heard from or {@code heartbeat_recv_timeout}
     * has passed. Until then a peer missing from {@link #reachablePeers()} may simply not have been heard yet.
     */
    default boolean settled() {
        return true;
    }

    /** Peers our own outbound connection is established and authenticated with. */
    NodeSet linkedPeers();

    /**
     * Queues a message for {@code peer} on {@code channel} (see {@link Channels}). Returns false when
     * there is no authenticated link to that peer now; the message is then dropped.
     */
    boolean send(int peer, int channel, byte[] payload);

    /** {@link #send} to every configured peer; returns the peers it was queued for. */
    NodeSet broadcast(int channel, byte[] payload);

    /**
     * This node is shutting down: tells every peer ({@link Channels#LEAVING}), which then counts it unreachable at
     * once and forms a generation without it, instead of waiting {@code heartbeat_recv_timeout} for its silence.
     * Heartbeats stop; until its transport stops, what else it sends is no longer heard. Not for a restart of the
     * transport alone (a bundle update), which peers do not notice.
     */
    default void leave() {
    }
}
