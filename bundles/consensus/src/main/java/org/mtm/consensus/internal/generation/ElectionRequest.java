package org.mtm.consensus.internal.generation;

import java.nio.ByteBuffer;
import java.util.Objects;
import org.mtm.api.NodeSet;

/**
 * A candidate asks for votes for generation {@code num} with {@code members} (DESIGN §3). A request whose
 * {@code configured} differs from {@code fromConfigured} is a change of the configured set ({@code mtm.add_node},
 * {@code mtm.drop_node}): voters must have {@code fromConfigured}, and it is won with a majority of both sets
 * ({@link Campaign}). A change is elected in two phases, as a Paxos proposer does: {@link Phase#PREPARE} asks a
 * majority of {@code fromConfigured} to promise {@code num} and tell the change each accepted last, then
 * {@link Phase#ACCEPT} proposes, with the same number, the change accepted at the highest number among them (its own
 * when none) — so that changes asked at once on different nodes cannot bind the voters against each other for good.
 *
 * @param phase {@link Phase#SINGLE} for an ordinary election; a change in one phase is what nodes before the two
 *              phases sent, which voters now refuse
 */
public record ElectionRequest(int candidate, long num, NodeSet members, NodeSet configured, NodeSet fromConfigured,
                              Phase phase) implements GenerationMessage {

    /** Which step of an election this request is. */
    public enum Phase { SINGLE, PREPARE, ACCEPT }

    /** An ordinary election: the configured set stays. */
    public ElectionRequest(int candidate, long num, NodeSet members, NodeSet configured) {
        this(candidate, num, members, configured, configured, Phase.SINGLE);
    }

    public ElectionRequest {
        Objects.requireNonNull(members, "members");
        Objects.requireNonNull(configured, "configured");
        Objects.requireNonNull(fromConfigured, "fromConfigured");
        Objects.requireNonNull(phase, "phase");
        if (candidate < 1 || candidate > NodeSet.MAX_NODE_ID) {
            throw new IllegalArgumentException("election candidate must be a node id, got " + candidate);
        }
        if (num < 1) {
            throw new IllegalArgumentException("election for generation " + num + ": numbers start at 1");
        }
        if (phase != Phase.SINGLE && configured.equals(fromConfigured)) {
            throw new IllegalArgumentException("a " + phase + " request for gen " + num + " must change the configured"
                + " set " + fromConfigured);
        }
    }

    /** The first phase of a change election for {@code configured} with {@code members}, from {@code from}. */
    public static ElectionRequest prepare(int candidate, long num, NodeSet members, NodeSet configured, NodeSet from) {
        return new ElectionRequest(candidate, num, members, configured, from, Phase.PREPARE);
    }

    /** The second phase: the change the first phase found safe to propose with {@code num}. */
    public static ElectionRequest accept(int candidate, long num, NodeSet members, NodeSet configured, NodeSet from) {
        return new ElectionRequest(candidate, num, members, configured, from, Phase.ACCEPT);
    }

    /** This election changes the configured set. */
    public boolean changesConfigured() {
        return !configured.equals(fromConfigured);
    }

    /** The first phase of a change election: answered with a promise, not a vote. */
    public boolean isPrepare() {
        return phase == Phase.PREPARE;
    }

    /** Who is asked: the old set for a promise (the dropped node too), else the set elected. */
    public NodeSet askedNodes() {
        return isPrepare() ? fromConfigured : configured;
    }

    /**
     * An ordinary request keeps its old encoding (older nodes read it); a change is a kind of its own per phase
     * ({@link GenerationMessage#KIND_CHANGE_REQUEST} is the one-phase change of older nodes).
     */
    @Override
    public byte[] encode() {
        if (!changesConfigured()) {
            return ByteBuffer.allocate(2 + 4 + 8 * 3)
                .put(VERSION).put(KIND_REQUEST)
                .putInt(candidate).putLong(num).putLong(members.mask()).putLong(configured.mask())
                .array();
        }
        byte kind = switch (phase) {
            case SINGLE -> KIND_CHANGE_REQUEST;
            case PREPARE -> KIND_CHANGE_PREPARE;
            case ACCEPT -> KIND_CHANGE_ACCEPT;
        };
        return ByteBuffer.allocate(2 + 4 + 8 * 4)
            .put(VERSION).put(kind)
            .putInt(candidate).putLong(num).putLong(members.mask()).putLong(configured.mask())
            .putLong(fromConfigured.mask())
            .array();
    }

    @Override
    public String toString() {
        String what = switch (phase) {
            case SINGLE -> changesConfigured() ? "one-phase change request" : "election request";
            case PREPARE -> "change prepare";
            case ACCEPT -> "change accept request";
        };
        return what + " of node " + candidate + " for gen " + num + " members " + members + " of " + configured
            + (changesConfigured() ? " (configured now " + fromConfigured + ")" : "");
    }
}
