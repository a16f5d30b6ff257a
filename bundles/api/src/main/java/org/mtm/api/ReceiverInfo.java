package org.mtm.api;

/** What the applier knows of its receiver for one peer. */
public record ReceiverInfo(int peer, Integer senderPid, Integer receiverPid, int workers, ReceiverMode mode) {
    public static ReceiverInfo disabled(int peer) {
        return new ReceiverInfo(peer, null, null, 0, ReceiverMode.DISABLED);
    }
}
