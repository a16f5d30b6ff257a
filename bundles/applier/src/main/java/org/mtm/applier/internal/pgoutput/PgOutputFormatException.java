package org.mtm.applier.internal.pgoutput;

/**
 * A pgoutput message could not be decoded: unknown type byte, truncated, trailing bytes, or a field
 * with a value the protocol does not allow. The stream is out of step with the decoder from here on;
 * the receiver must stop and restart replication from its last confirmed LSN, never skip the message.
 */
public final class PgOutputFormatException extends RuntimeException {

    /** {@link #messageType()} of an empty message. */
    public static final int NO_TYPE = -1;

    private final int messageType;
    private final int offset;
    private final String expected;

    PgOutputFormatException(int messageType, int offset, String expected, String detail) {
        super(describe(messageType) + " at offset " + offset + ": expected " + expected + (detail.isEmpty() ? "" : ", " + detail)
                + "; restart replication from the last confirmed LSN");
        this.messageType = messageType;
        this.offset = offset;
        this.expected = expected;
    }

    /** The message's first byte (0..255), or {@link #NO_TYPE} for an empty message. */
    public int messageType() { return messageType; }

    /** Byte offset within the message (0 = the type byte) where decoding failed. */
    public int offset() { return offset; }

    /** What the decoder expected to find at {@link #offset()}. */
    public String expected() { return expected; }

    static String describe(int type) {
        if (type == NO_TYPE) {
            return "empty pgoutput message";
        }
        String hex = String.format("0x%02X", type);
        return type >= 0x20 && type < 0x7F
                ? "pgoutput message '" + (char) type + "' (" + hex + ")"
                : "pgoutput message type " + hex;
    }
}
