package org.mtm.consensus.internal.generation;

import java.nio.ByteBuffer;
import java.util.Objects;
import org.mtm.api.NodeSet;

/**
 * A candidate asks for votes for generation {@code num} with {@code members} (DESIGN §3). A request whose
 * {@code configured} differs from {@code fromConfigured} is a change of the configured set ({@code mtm.drop_node}):
 * voters must have {@code fromConfigured}, and it is won with a majority of both sets ({@link Campaign}).
 */
public record ElectionRequest(int candidate, long num, NodeSet members, NodeSet configured, NodeSet fromConfigured)
    implements GenerationMessage {

    /** An ordinary election: the configured set stays. */
    public ElectionRequest(int candidate, long num, NodeSet members, NodeSet configured) {
        this(candidate, num, members, configured, configured);
    }

    public ElectionRequest {
        Objects.requireNonNull(members, "members");
        Objects.requireNonNull(configured, "configured");
        Objects.requireNonNull(fromConfigured, "fromConfigured");
        if (candidate < 1 || candidate > NodeSet.MAX_NODE_ID) {
            throw new IllegalArgumentException("election candidate must be a node id, got " + candidate);
        }
        if (num < 1) {
            throw new IllegalArgumentException("election for generation " + num + ": numbers start at 1");
        }
    }

    /** This election changes the configured set. */
    public boolean changesConfigured() {
        return !configured.equals(fromConfigured);
    }

    /** An ordinary request keeps its old encoding (older nodes read it); a change is a kind of its own. */
    @Override
    public byte[] encode() {
        if (!changesConfigured()) {
            return ByteBuffer.allocate(2 + 4 + 8 * 3)
                .put(VERSION).put(KIND_REQUEST)
                .putInt(candidate).putLong(num).putLong(members.mask()).putLong(configured.mask())
                .array();
        }
        return ByteBuffer.allocate(2 + 4 + 8 * 4)
            .put(VERSION).put(KIND_CHANGE_REQUEST)
            .putInt(candidate).putLong(num).putLong(members.mask()).putLong(configured.mask())
            .putLong(fromConfigured.mask())
            .array();
    }

    @Override
    public String toString() {
        return "election request of node " + candidate + " for gen " + num + " members " + members + " of " + configured
            + (changesConfigured() ? " (configured now " + fromConfigured + ")" : "");
    }
}
