package org.mtm.transport.internal;

import java.net.SocketAddress;

/**
 * What a {@link PeerNetwork} tells its owner. Every method is called on a transport I/O thread and must
 * not block; connectivity changes come from one thread, in order.
 */
interface PeerEvents {
    /** An authenticated peer sent {@code payload} on {@code channel} (heartbeats included). */
    void onMessage(int fromNode, int channel, byte[] payload);

    void peerReachable(int node);

    void peerUnreachable(int node);

    /** The state to announce in the next heartbeat; null or empty for none. */
    byte[] heartbeatPayload();

    /** An inbound connection was refused during authentication (already logged). */
    default void connectionRefused(SocketAddress remote, String reason) {
    }
}
