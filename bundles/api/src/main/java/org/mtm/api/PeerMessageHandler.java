package org.mtm.api;

/**
 * Whiteboard: receives node-to-node messages. Register with service property
 * {@value #CHANNEL_PROPERTY} = the channel number; called on a transport I/O thread, so hand long
 * work to an executor.
 */
public interface PeerMessageHandler {
    String CHANNEL_PROPERTY = "mtm.channel";

    void onMessage(int fromNode, byte[] payload);
}
