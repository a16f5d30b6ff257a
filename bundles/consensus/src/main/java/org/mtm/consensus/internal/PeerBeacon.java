package org.mtm.consensus.internal;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import org.mtm.api.NodeSet;

/**
 * The state a node announces in every heartbeat: its generation (number and members), donors, the
 * last generation it was online in, and the peers it hears. Fixed 41-byte encoding, version-tagged.
 */
public record PeerBeacon(long generationNum, NodeSet members, NodeSet donors, long lastOnlineIn, NodeSet connected) {
    private static final byte VERSION = 1;
    static final int SIZE = 1 + 8 * 5;

    public byte[] encode() {
        return ByteBuffer.allocate(SIZE)
            .put(VERSION)
            .putLong(generationNum)
            .putLong(members.mask())
            .putLong(donors.mask())
            .putLong(lastOnlineIn)
            .putLong(connected.mask())
            .array();
    }

    /** Decodes a heartbeat payload; rejects anything not produced by {@link #encode()}. */
    public static PeerBeacon decode(byte[] payload) {
        if (payload.length != SIZE || payload[0] != VERSION) {
            throw new IllegalArgumentException("heartbeat payload of " + payload.length + " bytes, version "
                + (payload.length > 0 ? payload[0] : -1) + ": expected " + SIZE + " bytes, version " + VERSION);
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(payload, 1, SIZE - 1);
            return new PeerBeacon(b.getLong(), NodeSet.ofMask(b.getLong()), NodeSet.ofMask(b.getLong()), b.getLong(),
                NodeSet.ofMask(b.getLong()));
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("truncated heartbeat payload", e);
        }
    }
}
