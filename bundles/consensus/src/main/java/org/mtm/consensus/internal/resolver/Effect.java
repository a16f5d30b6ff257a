package org.mtm.consensus.internal.resolver;

import org.mtm.api.Gid;

/** What the pure resolver parts ask the I/O around them to do. */
public sealed interface Effect {

    /** Send {@code message} to node {@code to} (this node's own acceptor when it is the sender). */
    record Send(int to, ResolverMessage message) implements Effect {
    }

    /** The outcome of {@code gid} is decided: record it durably and finish the local copy. */
    record Decided(Gid gid, Outcome outcome) implements Effect {
    }
}
