package org.mtm.api;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Messages of the 3-phase commit on {@link Channels#COMMIT}, between a transaction's coordinator (its
 * origin node) and the peers that apply it. One encoding shared by the coordinator and the applier.
 *
 * @param kind     what the message says
 * @param gid      the transaction
 * @param sqlState for a {@link Kind#ABORTED} vote: why the peer could not prepare (else null)
 * @param message  for a {@link Kind#ABORTED} vote: the peer's error message (else null)
 */
public record CommitMessage(Kind kind, Gid gid, String sqlState, String message) {

    public enum Kind {
        /** peer → coordinator: the transaction is prepared here. */
        PREPARED,
        /** peer → coordinator: the transaction could not be prepared here (carries the error). */
        ABORTED,
        /** coordinator → peers: the outcome is commit (speeds up what the stream also carries). */
        COMMIT,
        /** coordinator → peers: the outcome is abort. */
        ABORT,
        /** peer → coordinator: committed here (for wait_peer_commits). */
        COMMITTED,
        /**
         * peer → coordinator: still applying the transaction's changes here, no vote yet (sent every
         * {@link #APPLYING_NOTE_MS} while a large transaction is applied); the coordinator waits for the vote again.
         * A node of an older version logs it as malformed and ignores it.
         */
        APPLYING,
        /**
         * coordinator → participants that are prepared: the coordinator is still at work on the transaction (a vote
         * or the precommits still missing: a large transaction another peer is still applying); sent every
         * {@link #APPLYING_NOTE_MS}. A participant's resolver leaves its prepared copy to the coordinator meanwhile,
         * instead of taking the coordinator for one that forgot it and deciding it (abort, since nothing was
         * precommitted). A node of an older version logs it as malformed and ignores it.
         */
        COORDINATING
    }

    /** How often a peer still applying a transaction says so ({@link Kind#APPLYING}). */
    public static final long APPLYING_NOTE_MS = 5_000;

    private static final byte VERSION = 2; // 2: the precommit moved to the resolver's channel

    public static CommitMessage of(Kind kind, Gid gid) {
        return new CommitMessage(kind, gid, null, null);
    }

    public static CommitMessage abortedVote(Gid gid, String sqlState, String message) {
        return new CommitMessage(Kind.ABORTED, gid, sqlState, message);
    }

    public byte[] encode() {
        byte[] state = sqlState == null ? new byte[0] : sqlState.getBytes(StandardCharsets.UTF_8);
        byte[] text = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(2 + 4 + 8 + 8 + 2 + state.length + 4 + text.length)
            .put(VERSION).put((byte) kind.ordinal())
            .putInt(gid.originNode()).putLong(gid.originXid()).putLong(gid.generation())
            .putShort((short) state.length).put(state)
            .putInt(text.length).put(text)
            .array();
    }

    /** Decodes what {@link #encode()} wrote; anything else is an {@link IllegalArgumentException}. */
    public static CommitMessage decode(byte[] bytes) {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            byte version = b.get();
            if (version != VERSION) {
                throw new IllegalArgumentException("commit message version " + version + ", expected " + VERSION);
            }
            int k = b.get();
            if (k < 0 || k >= Kind.values().length) {
                throw new IllegalArgumentException("unknown commit message kind " + k);
            }
            Gid gid = new Gid(b.getInt(), b.getLong(), b.getLong());
            byte[] state = new byte[b.getShort()];
            b.get(state);
            byte[] text = new byte[b.getInt()];
            b.get(text);
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " trailing bytes after a commit message");
            }
            return new CommitMessage(Kind.values()[k], gid, state.length == 0 ? null : new String(state, StandardCharsets.UTF_8),
                text.length == 0 ? null : new String(text, StandardCharsets.UTF_8));
        } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
            throw new IllegalArgumentException("truncated commit message of " + bytes.length + " bytes", e);
        }
    }
}
