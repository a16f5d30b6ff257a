package org.mtm.transport.internal;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * The wire format, as pure functions over buffers (no I/O). Every frame is
 * <pre>
 *   length : uint32 big-endian  -- bytes that follow: 1 (kind) + body
 *   kind   : uint8
 *   body   : depends on kind
 * </pre>
 * Bodies (all integers big-endian):
 * <pre>
 *   0x01 HELLO      version:u16 clientId:u16 serverId:u16 clientNonce:32 bytes
 *   0x02 CHALLENGE  version:u16 serverNonce:32 bytes
 *   0x03 PROOF      mac:32 bytes
 *   0x04 WELCOME    mac:32 bytes
 *   0x05 REFUSED    reason: UTF-8 text (rest of the frame)
 *   0x10 MESSAGE    channel:u16 payload (rest of the frame)
 * </pre>
 * A length of zero or above the limit, an unknown kind or a body of the wrong size is a
 * {@link ProtocolException}.
 */
final class FrameCodec {
    /** Version of this protocol, carried in HELLO and CHALLENGE; both sides must speak the same one. */
    static final int PROTOCOL_VERSION = 1;
    /** Largest frame (kind + body) accepted after authentication. */
    static final int MAX_FRAME_LENGTH = 64 * 1024 * 1024;
    /** Largest frame accepted before authentication, so an unknown client cannot make us buffer much. */
    static final int MAX_HANDSHAKE_FRAME_LENGTH = 1024;
    static final int NONCE_LENGTH = 32;
    static final int MAC_LENGTH = 32;
    static final int LENGTH_FIELD = 4;
    /** Kind and channel in front of a message payload. */
    static final int MESSAGE_OVERHEAD = 3;
    static final int MAX_PAYLOAD = MAX_FRAME_LENGTH - MESSAGE_OVERHEAD;
    /** Longest REFUSED reason sent, in characters, so the frame stays within the handshake limit. */
    static final int MAX_REASON = 200;

    static final int HELLO = 0x01;
    static final int CHALLENGE = 0x02;
    static final int PROOF = 0x03;
    static final int WELCOME = 0x04;
    static final int REFUSED = 0x05;
    static final int MESSAGE = 0x10;

    private FrameCodec() {
    }

    /** Appends {@code frame} to {@code out}. */
    static void encode(Frame frame, ByteBuf out) {
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        if (frame instanceof Frame.Hello h) {
            out.writeByte(HELLO);
            out.writeShort(h.version());
            out.writeShort(h.clientId());
            out.writeShort(h.serverId());
            writeFixed(out, h.clientNonce(), NONCE_LENGTH, "client nonce");
        } else if (frame instanceof Frame.Challenge c) {
            out.writeByte(CHALLENGE);
            out.writeShort(c.version());
            writeFixed(out, c.serverNonce(), NONCE_LENGTH, "server nonce");
        } else if (frame instanceof Frame.Proof p) {
            out.writeByte(PROOF);
            writeFixed(out, p.mac(), MAC_LENGTH, "proof");
        } else if (frame instanceof Frame.Welcome w) {
            out.writeByte(WELCOME);
            writeFixed(out, w.mac(), MAC_LENGTH, "welcome proof");
        } else if (frame instanceof Frame.Refused r) {
            out.writeByte(REFUSED);
            String reason = r.reason().length() > MAX_REASON ? r.reason().substring(0, MAX_REASON) : r.reason();
            out.writeCharSequence(reason, StandardCharsets.UTF_8);
        } else if (frame instanceof Frame.Message m) {
            if (m.payload().length > MAX_PAYLOAD) {
                throw new IllegalArgumentException("message payload of " + m.payload().length
                    + " bytes exceeds the transport limit of " + MAX_PAYLOAD + " bytes");
            }
            out.writeByte(MESSAGE);
            out.writeShort(m.channel());
            out.writeBytes(m.payload());
        } else {
            throw new IllegalArgumentException("unknown frame " + frame);
        }
        out.setInt(lengthAt, out.writerIndex() - lengthAt - LENGTH_FIELD);
    }

    private static void writeFixed(ByteBuf out, byte[] bytes, int length, String what) {
        if (bytes.length != length) {
            throw new IllegalArgumentException(what + " must be " + length + " bytes, got " + bytes.length);
        }
        out.writeBytes(bytes);
    }

    /**
     * Takes one whole frame from {@code in}, or returns null (consuming nothing) when the frame is not
     * complete yet. The length is checked as soon as its four bytes are there, so an oversized frame is
     * refused before its body is buffered.
     */
    static Frame decode(ByteBuf in, int maxFrameLength) throws ProtocolException {
        if (in.readableBytes() < LENGTH_FIELD) {
            return null;
        }
        long length = in.getUnsignedInt(in.readerIndex());
        if (length == 0) {
            throw new ProtocolException("empty frame (length 0)");
        }
        if (length > maxFrameLength) {
            throw new ProtocolException("frame of " + length + " bytes exceeds the limit of " + maxFrameLength + " bytes");
        }
        if (in.readableBytes() < LENGTH_FIELD + length) {
            return null;
        }
        in.skipBytes(LENGTH_FIELD);
        ByteBuf body = in.readSlice((int) length);
        return decodeBody(body);
    }

    private static Frame decodeBody(ByteBuf body) throws ProtocolException {
        int kind = body.readUnsignedByte();
        switch (kind) {
            case HELLO -> {
                expectSize(body, 6 + NONCE_LENGTH, "HELLO");
                return new Frame.Hello(body.readUnsignedShort(), body.readUnsignedShort(), body.readUnsignedShort(),
                    bytes(body, NONCE_LENGTH));
            }
            case CHALLENGE -> {
                expectSize(body, 2 + NONCE_LENGTH, "CHALLENGE");
                return new Frame.Challenge(body.readUnsignedShort(), bytes(body, NONCE_LENGTH));
            }
            case PROOF -> {
                expectSize(body, MAC_LENGTH, "PROOF");
                return new Frame.Proof(bytes(body, MAC_LENGTH));
            }
            case WELCOME -> {
                expectSize(body, MAC_LENGTH, "WELCOME");
                return new Frame.Welcome(bytes(body, MAC_LENGTH));
            }
            case REFUSED -> {
                return new Frame.Refused(body.readCharSequence(body.readableBytes(), StandardCharsets.UTF_8).toString());
            }
            case MESSAGE -> {
                if (body.readableBytes() < 2) {
                    throw new ProtocolException("MESSAGE frame too short for its channel number");
                }
                return new Frame.Message(body.readUnsignedShort(), bytes(body, body.readableBytes()));
            }
            default -> throw new ProtocolException(String.format("unknown frame kind 0x%02x", kind));
        }
    }

    private static void expectSize(ByteBuf body, int size, String kind) throws ProtocolException {
        if (body.readableBytes() != size) {
            throw new ProtocolException(kind + " frame body must be " + size + " bytes, got " + body.readableBytes());
        }
    }

    private static byte[] bytes(ByteBuf body, int n) {
        byte[] b = new byte[n];
        body.readBytes(b);
        return b;
    }
}
