package org.mtm.consensus.internal.generation;

import java.nio.ByteBuffer;
import java.util.Objects;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;

/** A won generation and its donors, sent by the winner to everyone ({@link Adoption#adopt}). */
public record GenerationAnnounce(Generation generation, NodeSet donors) implements GenerationMessage {

    public GenerationAnnounce {
        Objects.requireNonNull(generation, "generation");
        Objects.requireNonNull(donors, "donors");
        if (!generation.members().containsAll(donors)) {
            throw new IllegalArgumentException("donors " + donors + " of gen " + generation.num()
                + " are not all members " + generation.members());
        }
    }

    @Override
    public byte[] encode() {
        return ByteBuffer.allocate(2 + 8 * 4)
            .put(VERSION).put(KIND_ANNOUNCE)
            .putLong(generation.num()).putLong(generation.members().mask()).putLong(generation.configured().mask())
            .putLong(donors.mask())
            .array();
    }

    @Override
    public String toString() {
        return generation + " donors " + donors;
    }
}
