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

    /** Peers our own outbound connection is established and authenticated with. */
    NodeSet linkedPeers();

    /**
     * Queues a message for {@code peer} on {@code channel} (see {@link Channels}). Returns false when
     * there is no authenticated link to that peer now; the message is then dropped.
     */
    boolean send(int peer, int channel, byte[] payload);

    /** {@link #send} to every configured peer; returns the peers it was queued for. */
    NodeSet broadcast(int channel, byte[] payload);
}
