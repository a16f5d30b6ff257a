package org.mtm.gateway.internal.protocol;

import io.netty.buffer.ByteBuf;

/**
 * The layout of the frontend messages a client may send once its session is ready, checked the way PostgreSQL's
 * {@code pq_getmsg*} readers check them: every count, length and string inside the message's own bytes, nothing
 * left over. Pure (no I/O, no state): the session asks it about each whole message before it reads any field, so
 * the gateway's readers never look past a message, and a malformed one gets PostgreSQL's wording instead of an
 * exception.
 */
public final class FrontendMessages {
    private FrontendMessages() {
    }

    /**
     * Null when the whole message at {@code ri} ({@code total} bytes, type byte included) is well formed; otherwise
     * what is wrong with it, in PostgreSQL's words (the caller reports it as 08P01).
     */
    public static String violation(ByteBuf in, int ri, int total) {
        if (total < 5 || ri < 0 || ri + total > in.writerIndex()) {
            return "invalid message length";
        }
        byte type = in.getByte(ri);
        Reader r = new Reader(in, ri + 5, ri + total);
        try {
            switch (type) {
                case PgWire.QUERY -> r.string();
                case PgWire.PARSE -> {
                    r.string();
                    r.string();
                    r.skip(4L * r.count());
                }
                case PgWire.BIND -> {
                    r.string();
                    r.string();
                    r.skip(2L * r.count());
                    int params = r.count();
                    for (int p = 0; p < params; p++) {
                        int length = r.int32();
                        if (length < -1) {
                            throw new Malformed("invalid length " + length + " of parameter " + (p + 1));
                        }
                        r.skip(Math.max(0, length));
                    }
                    r.skip(2L * r.count());
                }
                case PgWire.EXECUTE -> {
                    r.string();
                    r.int32();
                }
                case PgWire.DESCRIBE, PgWire.CLOSE -> {
                    byte what = r.byte1();
                    if (what != 'S' && what != 'P') {
                        throw new Malformed("invalid " + (type == PgWire.CLOSE ? "CLOSE" : "DESCRIBE")
                                + " message subtype " + (what & 0xff));
                    }
                    r.string();
                }
                case PgWire.FUNCTION_CALL -> {
                    r.int32();
                    r.skip(2L * r.count());
                    int args = r.count();
                    for (int a = 0; a < args; a++) {
                        int length = r.int32();
                        if (length < -1) {
                            throw new Malformed("invalid length " + length + " of argument " + (a + 1));
                        }
                        r.skip(Math.max(0, length));
                    }
                    r.skip(2);
                }
                case PgWire.COPY_FAIL -> r.string();
                // PostgreSQL reads no field of these (and ignores copy messages outside COPY)
                case PgWire.COPY_DATA, PgWire.COPY_DONE, PgWire.TERMINATE -> r.skip(r.remaining());
                case PgWire.SYNC, PgWire.FLUSH -> { }
                default -> {
                    return "invalid frontend message type " + (type & 0xff);
                }
            }
            if (r.remaining() != 0) {
                return "invalid message format: " + r.remaining() + " bytes left over in message type '"
                        + printable(type) + "'";
            }
            return null;
        } catch (Malformed e) {
            return e.getMessage() + " (message type '" + printable(type) + "')";
        }
    }

    /** The type byte as a character when it is a printable ASCII one, else its number. */
    public static String printable(byte type) {
        return type >= 0x20 && type < 0x7f ? String.valueOf((char) type) : "\\x" + Integer.toHexString(type & 0xff);
    }

    private static final class Malformed extends RuntimeException {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    /** A cursor over {@code [at, limit)} that refuses to leave it. */
    private static final class Reader {
        private final ByteBuf in;
        private final int limit;
        private int at;

        Reader(ByteBuf in, int at, int limit) {
            this.in = in;
            this.at = at;
            this.limit = limit;
        }

        int remaining() {
            return limit - at;
        }

        void skip(long n) {
            if (n > remaining()) {
                throw new Malformed("insufficient data left in message");
            }
            at += (int) n;
        }

        byte byte1() {
            skip(1);
            return in.getByte(at - 1);
        }

        int int32() {
            skip(4);
            return in.getInt(at - 4);
        }

        /** An Int16 count, unsigned as PostgreSQL reads it. */
        int count() {
            skip(2);
            return in.getUnsignedShort(at - 2);
        }

        void string() {
            int end = PgWire.cstringEnd(in, at, limit);
            if (end < 0) {
                throw new Malformed("invalid string in message");
            }
            at = end + 1;
        }
    }
}
