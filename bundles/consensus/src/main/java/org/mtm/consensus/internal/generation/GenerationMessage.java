package org.mtm.consensus.internal.generation;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;

/**
 * The messages of a generation election (DESIGN §3): a candidate's request, a voter's answer, and the announce of a
 * won generation. Encoded as a version byte, a kind byte and fixed fields (the refusal text length-prefixed UTF-8);
 * {@link #decode} accepts exactly what {@link #encode()} writes and names what is wrong with anything else.
 */
public sealed interface GenerationMessage permits ElectionRequest, ElectionAnswer, GenerationAnnounce {

    byte VERSION = 1;
    byte KIND_REQUEST = 1;
    byte KIND_ANSWER = 2;
    byte KIND_ANNOUNCE = 3;
    /**
     * An {@link ElectionRequest} that changes the configured set in one phase: what nodes before two-phase changes
     * send; read, and refused by the voters (nodes without it refuse the message).
     */
    byte KIND_CHANGE_REQUEST = 4;
    /** The first phase of a change election ({@link ElectionRequest.Phase#PREPARE}; older nodes refuse the message). */
    byte KIND_CHANGE_PREPARE = 5;
    /** The second phase of a change election ({@link ElectionRequest.Phase#ACCEPT}). */
    byte KIND_CHANGE_ACCEPT = 6;
    /** The answer to a first phase: an {@link ElectionAnswer} with the voter's accepted change. */
    byte KIND_PROMISE = 7;
    /** Refusal texts are for people; longer ones are cut so that an answer stays one small packet. */
    int MAX_REFUSAL_BYTES = 1024;

    byte[] encode();

    static GenerationMessage decode(byte[] bytes) {
        if (bytes == null || bytes.length < 2) {
            throw new IllegalArgumentException("generation message of " + (bytes == null ? 0 : bytes.length)
                + " bytes: too short for version and kind");
        }
        if (bytes[0] != VERSION) {
            throw new IllegalArgumentException("generation message version " + bytes[0] + ", expected " + VERSION);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, 2, bytes.length - 2);
        try {
            GenerationMessage m = switch (bytes[1]) {
                case KIND_REQUEST -> new ElectionRequest(b.getInt(), b.getLong(), NodeSet.ofMask(b.getLong()),
                    NodeSet.ofMask(b.getLong()));
                case KIND_CHANGE_REQUEST -> changeRequest(b.getInt(), b.getLong(), NodeSet.ofMask(b.getLong()),
                    NodeSet.ofMask(b.getLong()), NodeSet.ofMask(b.getLong()), ElectionRequest.Phase.SINGLE);
                case KIND_CHANGE_PREPARE -> changeRequest(b.getInt(), b.getLong(), NodeSet.ofMask(b.getLong()),
                    NodeSet.ofMask(b.getLong()), NodeSet.ofMask(b.getLong()), ElectionRequest.Phase.PREPARE);
                case KIND_CHANGE_ACCEPT -> changeRequest(b.getInt(), b.getLong(), NodeSet.ofMask(b.getLong()),
                    NodeSet.ofMask(b.getLong()), NodeSet.ofMask(b.getLong()), ElectionRequest.Phase.ACCEPT);
                case KIND_ANSWER -> new ElectionAnswer(b.getInt(), b.getLong(), flag(b.get()), b.getLong(), b.getLong(),
                    b.getLong(), text(b));
                case KIND_PROMISE -> promise(b);
                case KIND_ANNOUNCE -> new GenerationAnnounce(
                    generation(b.getLong(), NodeSet.ofMask(b.getLong()), NodeSet.ofMask(b.getLong())),
                    NodeSet.ofMask(b.getLong()));
                default -> throw new IllegalArgumentException("unknown generation message kind " + bytes[1]);
            };
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " trailing bytes after a generation message");
            }
            return m;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("truncated generation message of " + bytes.length + " bytes", e);
        }
    }

    private static Generation generation(long num, NodeSet members, NodeSet configured) {
        if (!configured.containsAll(members)) {
            throw new IllegalArgumentException("announced generation " + num + ": members " + members
                + " are not all configured " + configured);
        }
        return new Generation(num, members, configured);
    }

    private static ElectionRequest changeRequest(int candidate, long num, NodeSet members, NodeSet configured,
                                                 NodeSet from, ElectionRequest.Phase phase) {
        if (configured.equals(from)) {
            throw new IllegalArgumentException("change request for gen " + num + " keeps the configured set " + from);
        }
        return new ElectionRequest(candidate, num, members, configured, from, phase);
    }

    private static ElectionAnswer promise(ByteBuffer b) {
        int voter = b.getInt();
        long num = b.getLong();
        boolean yes = flag(b.get());
        long gen = b.getLong();
        long onlineIn = b.getLong();
        long lastVote = b.getLong();
        NodeSet votedConfigured = NodeSet.ofMask(b.getLong());
        long votedIn = b.getLong();
        if (votedIn < 0) {
            throw new IllegalArgumentException("promise of gen " + num + ": accepted number " + votedIn);
        }
        return new ElectionAnswer(voter, num, yes, gen, onlineIn, lastVote, text(b), true, votedConfigured, votedIn);
    }

    private static boolean flag(byte b) {
        if (b != 0 && b != 1) {
            throw new IllegalArgumentException("election answer flag must be 0 or 1, got " + b);
        }
        return b == 1;
    }

    private static String text(ByteBuffer b) {
        int length = b.getInt();
        if (length < 0 || length > MAX_REFUSAL_BYTES || length > b.remaining()) {
            throw new IllegalArgumentException("refusal text length " + length + " with " + b.remaining()
                + " bytes left (at most " + MAX_REFUSAL_BYTES + ")");
        }
        byte[] raw = new byte[length];
        b.get(raw);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("refusal text is not UTF-8", e);
        }
    }

    /** The refusal as UTF-8, cut at {@link #MAX_REFUSAL_BYTES} on a character boundary. */
    static byte[] utf8(String text) {
        byte[] raw = text.getBytes(StandardCharsets.UTF_8);
        if (raw.length <= MAX_REFUSAL_BYTES) {
            return raw;
        }
        ByteBuffer out = ByteBuffer.allocate(MAX_REFUSAL_BYTES);
        StandardCharsets.UTF_8.newEncoder().encode(CharBuffer.wrap(text), out, true);
        byte[] cut = new byte[out.position()];
        out.flip().get(cut);
        return cut;
    }
}
