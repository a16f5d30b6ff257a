package org.mtm.api;

import java.util.Objects;

/**
 * A generation: a number that only grows (an epoch) and the subset of configured nodes every
 * transaction of that generation must be prepared on.
 */
public record Generation(long num, NodeSet members, NodeSet configured) {
    /** Before {@code init_cluster} a node is in generation 0 with no members. */
    public static final Generation NONE = new Generation(0, NodeSet.EMPTY, NodeSet.EMPTY);

    public Generation {
        Objects.requireNonNull(members, "members");
        Objects.requireNonNull(configured, "configured");
        if (num < 0) {
            throw new IllegalArgumentException("generation number must be >= 0, got " + num);
        }
        if (!configured.containsAll(members)) {
            throw new IllegalArgumentException("generation members " + members + " are not all configured " + configured);
        }
    }

    public boolean isMember(int node) {
        return members.contains(node);
    }

    @Override
    public String toString() {
        return "gen " + num + " members " + members + " of " + configured;
    }
}
