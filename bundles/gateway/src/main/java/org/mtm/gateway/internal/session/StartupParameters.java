package org.mtm.gateway.internal.session;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.LinkedHashMap;
import java.util.Map;

import org.mtm.gateway.internal.protocol.PgWire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** The name/value pairs of a protocol 3.0 StartupMessage, and what the gateway reads of them. */
record StartupParameters(Map<String, String> values) {

    /** Reads the pairs in {@code [from, limit)}; a malformed tail is ignored (the backend judges the packet). */
    static StartupParameters read(ByteBuf in, int from, int limit) {
        Map<String, String> params = new LinkedHashMap<>();
        int i = from;
        while (i < limit && in.getByte(i) != 0) {
            int nameEnd = PgWire.cstringEnd(in, i, limit);
            int valueEnd = nameEnd < 0 ? -1 : PgWire.cstringEnd(in, nameEnd + 1, limit);
            if (valueEnd < 0) {
                break;
            }
            params.put(in.toString(i, nameEnd - i, UTF_8), in.toString(nameEnd + 1, valueEnd - nameEnd - 1, UTF_8));
            i = valueEnd + 1;
        }
        return new StartupParameters(params);
    }

    String user() {
        return values.getOrDefault("user", "");
    }

    /** As PostgreSQL: the user name when no database is given. */
    String database() {
        return values.getOrDefault("database", user());
    }

    String applicationName() {
        return values.getOrDefault("application_name", "");
    }

    /**
     * The StartupMessage of {@code length} bytes at {@code ri} with {@code switches} added to its {@code options}
     * (the backend's command-line switches, e.g. {@code -c name=value}: session defaults that RESET ALL and
     * DISCARD ALL keep), appended to an {@code options} the client sent or as a new last pair. Every other byte
     * is copied as it is (names and values may be in any encoding). A malformed message, or one that would grow
     * past PostgreSQL's limit, is passed on unchanged (a retained slice).
     */
    static ByteBuf withOptions(ByteBufAllocator alloc, ByteBuf in, int ri, int length, String switches) {
        byte[] extra = switches.getBytes(UTF_8);
        int limit = ri + length;
        int insertAt = -1;
        int i = ri + 8;
        while (i < limit && in.getByte(i) != 0) {
            int nameEnd = PgWire.cstringEnd(in, i, limit);
            int valueEnd = nameEnd < 0 ? -1 : PgWire.cstringEnd(in, nameEnd + 1, limit);
            if (valueEnd < 0) {
                return in.retainedSlice(ri, length); // malformed: the backend says so
            }
            if (nameEnd - i == 7 && in.toString(i, 7, UTF_8).equals("options")) {
                insertAt = valueEnd;
            }
            i = valueEnd + 1;
        }
        if (i >= limit || length + extra.length + 10 > PgWire.MAX_STARTUP_LENGTH) {
            return in.retainedSlice(ri, length); // no terminator, or no room: as it is
        }
        ByteBuf out = alloc.buffer(length + extra.length + 10);
        if (insertAt >= 0) {
            boolean empty = in.getByte(insertAt - 1) == 0;
            out.writeBytes(in, ri, insertAt - ri);
            if (!empty) {
                out.writeByte(' ');
            }
            out.writeBytes(extra).writeBytes(in, insertAt, limit - insertAt);
        } else {
            out.writeBytes(in, ri, i - ri); // up to the terminating zero of the pairs
            out.writeBytes("options".getBytes(UTF_8)).writeByte(0).writeBytes(extra).writeByte(0).writeByte(0);
        }
        out.setInt(0, out.readableBytes());
        return out;
    }

    /** A physical or logical replication connection: it speaks its own command language. */
    boolean replication() {
        String r = values.get("replication");
        return r != null && !"false".equalsIgnoreCase(r) && !"0".equals(r) && !"off".equalsIgnoreCase(r);
    }
}
