package org.mtm.api;

/** Whiteboard: told when a peer becomes reachable or falls silent for {@code heartbeat_recv_timeout}. */
public interface PeerConnectivityListener {
    void peerReachable(int node);

    void peerUnreachable(int node);
}
