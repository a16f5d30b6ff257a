package org.mtm.consensus.internal.generation;

import java.nio.ByteBuffer;
import java.util.Objects;
import org.mtm.api.NodeSet;

/** A candidate asks for votes for generation {@code num} with {@code members} (DESIGN §3). */
public record ElectionRequest(int candidate, long num, NodeSet members, NodeSet configured) implements GenerationMessage {

    public ElectionRequest {
        Objects.requireNonNull(members, "members");
        Objects.requireNonNull(configured, "configured");
        if (candidate < 1 || candidate > NodeSet.MAX_NODE_ID) {
            throw new IllegalArgumentException("election candidate must be a node id, got " + candidate);
        }
        if (num < 1) {
            throw new IllegalArgumentException("election for generation " + num + ": numbers start at 1");
        }
    }

    @Override
    public byte[] encode() {
        return ByteBuffer.allocate(2 + 4 + 8 * 3)
            .put(VERSION).put(KIND_REQUEST)
            .putInt(candidate).putLong(num).putLong(members.mask()).putLong(configured.mask())
            .array();
    }

    @Override
    public String toString() {
        return "election request of node " + candidate + " for gen " + num + " members " + members + " of " + configured;
    }
}
