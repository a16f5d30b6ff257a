package org.mtm.consensus.internal;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import org.mtm.api.NodeSet;

/**
 * The state a node announces in every heartbeat: its generation (number, members and configured set), donors, the
 * last generation it was online in, the peers it hears, and how far its catch-up or recovery is behind its donor
 * ({@code catchUpLag} bytes, -1: none running; {@code tx_delay_on_slow_catchup} reads it). Fixed 57-byte encoding,
 * version 3; the 41 bytes of version 1 (no lag) and the 49 of version 2 (no configured set: {@code configured} is
 * empty, unknown) are still read, so a rolling upgrade keeps its beacons.
 */
public record PeerBeacon(long generationNum, NodeSet members, NodeSet donors, long lastOnlineIn, NodeSet connected,
                         long catchUpLag, NodeSet configured) {
    private static final byte VERSION_1 = 1;
    private static final byte VERSION_2 = 2;
    private static final byte VERSION = 3;
    static final int SIZE_1 = 1 + 8 * 5;
    static final int SIZE_2 = SIZE_1 + 8;
    static final int SIZE = SIZE_2 + 8;

    /** A beacon of a node that runs no catch-up. */
    public PeerBeacon(long generationNum, NodeSet members, NodeSet donors, long lastOnlineIn, NodeSet connected) {
        this(generationNum, members, donors, lastOnlineIn, connected, -1);
    }

    /** A beacon that does not say its configured set (version 2). */
    public PeerBeacon(long generationNum, NodeSet members, NodeSet donors, long lastOnlineIn, NodeSet connected,
                      long catchUpLag) {
        this(generationNum, members, donors, lastOnlineIn, connected, catchUpLag, NodeSet.EMPTY);
    }

    public byte[] encode() {
        return ByteBuffer.allocate(SIZE)
            .put(VERSION)
            .putLong(generationNum)
            .putLong(members.mask())
            .putLong(donors.mask())
            .putLong(lastOnlineIn)
            .putLong(connected.mask())
            .putLong(catchUpLag)
            .putLong(configured.mask())
            .array();
    }

    /** Decodes a heartbeat payload; rejects anything not produced by {@link #encode()} (or version 1's). */
    public static PeerBeacon decode(byte[] payload) {
        boolean v1 = payload.length == SIZE_1 && payload[0] == VERSION_1;
        boolean v2 = payload.length == SIZE_2 && payload[0] == VERSION_2;
        if (!v1 && !v2 && (payload.length != SIZE || payload[0] != VERSION)) {
            throw new IllegalArgumentException("heartbeat payload of " + payload.length + " bytes, version "
                + (payload.length > 0 ? payload[0] : -1) + ": expected " + SIZE + " bytes, version " + VERSION);
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(payload, 1, payload.length - 1);
            long num = b.getLong();
            NodeSet members = NodeSet.ofMask(b.getLong());
            NodeSet donors = NodeSet.ofMask(b.getLong());
            long lastOnlineIn = b.getLong();
            NodeSet connected = NodeSet.ofMask(b.getLong());
            long lag = v1 ? -1 : b.getLong();
            if (lag < -1) {
                throw new IllegalArgumentException("heartbeat payload with a catch-up lag of " + lag + " bytes");
            }
            NodeSet configured = v1 || v2 ? NodeSet.EMPTY : NodeSet.ofMask(b.getLong());
            return new PeerBeacon(num, members, donors, lastOnlineIn, connected, lag, configured);
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("truncated heartbeat payload", e);
        }
    }
}
