package org.mtm.consensus.internal.resolver;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import org.mtm.api.Gid;

/**
 * Messages of the resolver's Paxos on {@link org.mtm.api.Channels#RESOLVER}. The coordinator's precommit is an
 * {@link Kind#ACCEPT} in term {1,0}, answered like any other.
 *
 * @param kind     what the message says
 * @param gid      the transaction
 * @param term     the term of the request (answers repeat it)
 * @param granted  answers: the request was granted
 * @param promise  answers: the sender's highest promise
 * @param accepted {@link Kind#PROMISE}: term of the sender's accepted value
 * @param value    {@link Kind#ACCEPT}: the value to accept; {@link Kind#PROMISE}: the sender's accepted value
 * @param known    answers and {@link Kind#DECIDED}: the outcome the sender knows for certain
 */
public record ResolverMessage(Kind kind, Gid gid, Term term, boolean granted, Term promise, Term accepted,
                              Proposal value, Outcome known) {

    public enum Kind {
        /** 1a: promise me {@code term}. */
        PROPOSE,
        /** 1b. */
        PROMISE,
        /** 2a: accept {@code value} in {@code term} (the coordinator's precommit: term {1,0}). */
        ACCEPT,
        /** 2b. */
        ACCEPTED,
        /** The outcome is decided: finish your copy. */
        DECIDED
    }

    private static final byte VERSION = 1;

    public static ResolverMessage propose(Gid gid, Term term) {
        return new ResolverMessage(Kind.PROPOSE, gid, term, false, Term.NONE, Term.NONE, null, null);
    }

    public static ResolverMessage accept(Gid gid, Term term, Proposal value) {
        return new ResolverMessage(Kind.ACCEPT, gid, term, false, Term.NONE, Term.NONE, value, null);
    }

    public static ResolverMessage decided(Gid gid, Outcome outcome) {
        return new ResolverMessage(Kind.DECIDED, gid, Term.NONE, false, Term.NONE, Term.NONE, null, outcome);
    }

    /** The answer to a PROPOSE of {@code term}, from the acceptor's state after handling it. */
    public static ResolverMessage promise(Gid gid, Term term, boolean granted, Knowledge k) {
        AcceptorState s = k.state();
        return new ResolverMessage(Kind.PROMISE, gid, term, granted, s.promised(), s.accepted(), s.value(), k.known());
    }

    /** The answer to an ACCEPT in {@code term}. */
    public static ResolverMessage accepted(Gid gid, Term term, boolean granted, Knowledge k) {
        return new ResolverMessage(Kind.ACCEPTED, gid, term, granted, k.state().promised(), Term.NONE, null, k.known());
    }

    public byte[] encode() {
        return ByteBuffer.allocate(2 + 4 + 8 + 8 + 8 + 1 + 8 + 8 + 1 + 1)
            .put(VERSION).put((byte) kind.ordinal())
            .putInt(gid.originNode()).putLong(gid.originXid()).putLong(gid.generation())
            .putInt(term.ballot()).putInt(term.node())
            .put((byte) (granted ? 1 : 0))
            .putInt(promise.ballot()).putInt(promise.node())
            .putInt(accepted.ballot()).putInt(accepted.node())
            .put((byte) (value == null ? -1 : value.ordinal()))
            .put((byte) (known == null ? -1 : known.ordinal()))
            .array();
    }

    /** Decodes what {@link #encode()} wrote; anything else is an {@link IllegalArgumentException}. */
    public static ResolverMessage decode(byte[] bytes) {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            byte version = b.get();
            if (version != VERSION) {
                throw new IllegalArgumentException("resolver message version " + version + ", expected " + VERSION);
            }
            Kind kind = pick(Kind.values(), b.get(), "kind");
            Gid gid = new Gid(b.getInt(), b.getLong(), b.getLong());
            Term term = new Term(b.getInt(), b.getInt());
            boolean granted = b.get() != 0;
            Term promise = new Term(b.getInt(), b.getInt());
            Term accepted = new Term(b.getInt(), b.getInt());
            byte v = b.get();
            byte k = b.get();
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " trailing bytes after a resolver message");
            }
            return new ResolverMessage(kind, gid, term, granted, promise, accepted,
                v < 0 ? null : pick(Proposal.values(), v, "value"), k < 0 ? null : pick(Outcome.values(), k, "outcome"));
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("truncated resolver message of " + bytes.length + " bytes", e);
        }
    }

    private static <T> T pick(T[] values, int ordinal, String what) {
        if (ordinal < 0 || ordinal >= values.length) {
            throw new IllegalArgumentException("unknown resolver message " + what + " " + ordinal);
        }
        return values[ordinal];
    }
}
