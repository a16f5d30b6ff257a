package org.mtm.gateway.internal.session;

import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.protocol.PgWire;

import io.netty.buffer.ByteBuf;

/**
 * One packet of the startup phase (no type byte: length, code, body), decoded with no I/O and checked as
 * PostgreSQL's {@code ProcessStartupPacket} checks it, so that a malformed one is answered by the gateway in
 * PostgreSQL's words and never reaches the server. {@code length} bytes from the reader index make the packet.
 *
 * @param params the StartupMessage's pairs ({@link Kind#STARTUP} only)
 * @param refusal the FATAL error to answer ({@link Kind#INVALID} only)
 */
record StartupPacket(Kind kind, int length, int code, int cancelPid, int cancelKey, StartupParameters params,
                     ServerError refusal) {

    enum Kind {
        SSL_REQUEST, GSSENC_REQUEST,
        /** A CancelRequest; {@code cancelPid}/{@code cancelKey} are meaningful only with {@link #wellFormedCancel()}. */
        CANCEL,
        /** A protocol 3 StartupMessage (any minor version: PostgreSQL answers newer minors). */
        STARTUP,
        INVALID
    }

    /**
     * The packet at the reader index, which is not moved; null while fewer bytes than it needs have arrived. A
     * length PostgreSQL would refuse is reported at once (the rest need not arrive).
     */
    static StartupPacket read(ByteBuf in) {
        if (in.readableBytes() < 4) {
            return null;
        }
        int ri = in.readerIndex();
        int length = in.getInt(ri);
        if (length < 8 || length > PgWire.MAX_STARTUP_LENGTH) {
            return invalid(length, 0, SqlStates.PROTOCOL_VIOLATION, "invalid length of startup packet: " + length);
        }
        if (in.readableBytes() < length) {
            return null;
        }
        int code = in.getInt(ri + 4);
        switch (code) {
            case PgWire.SSL_REQUEST:
                return new StartupPacket(Kind.SSL_REQUEST, length, code, 0, 0, null, null);
            case PgWire.GSSENC_REQUEST:
                return new StartupPacket(Kind.GSSENC_REQUEST, length, code, 0, 0, null, null);
            case PgWire.CANCEL_REQUEST:
                return length == 16
                        ? new StartupPacket(Kind.CANCEL, length, code, in.getInt(ri + 8), in.getInt(ri + 12), null, null)
                        : new StartupPacket(Kind.CANCEL, length, code, 0, 0, null, null);
            default:
                break;
        }
        if ((code >>> 16) != 3) {
            return invalid(length, code, SqlStates.FEATURE_NOT_SUPPORTED, "unsupported frontend protocol "
                    + (code >>> 16) + "." + (code & 0xffff) + ": server supports 3.0 to 3.0");
        }
        int limit = ri + length;
        int i = ri + 8;
        // the pairs, then one zero byte that is the packet's last (PostgreSQL's layout check)
        while (i < limit && in.getByte(i) != 0) {
            int nameEnd = PgWire.cstringEnd(in, i, limit);
            int valueEnd = nameEnd < 0 ? -1 : PgWire.cstringEnd(in, nameEnd + 1, limit);
            if (valueEnd < 0) {
                break;
            }
            i = valueEnd + 1;
        }
        if (i != limit - 1 || in.getByte(i) != 0) {
            return invalid(length, code, SqlStates.PROTOCOL_VIOLATION,
                    "invalid startup packet layout: expected terminator as last byte");
        }
        StartupParameters params = StartupParameters.read(in, ri + 8, limit);
        if (params.user().isEmpty()) {
            return invalid(length, code, SqlStates.INVALID_AUTHORIZATION, "no PostgreSQL user name specified in startup packet");
        }
        return new StartupPacket(Kind.STARTUP, length, code, 0, 0, params, null);
    }

    boolean wellFormedCancel() {
        return kind == Kind.CANCEL && length == 16;
    }

    private static StartupPacket invalid(int length, int code, String sqlState, String message) {
        return new StartupPacket(Kind.INVALID, length, code, 0, 0, null, ServerError.fatal(sqlState, message));
    }
}
