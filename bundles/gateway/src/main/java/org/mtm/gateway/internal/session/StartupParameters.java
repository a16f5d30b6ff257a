package org.mtm.gateway.internal.session;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.LinkedHashMap;
import java.util.Map;

import org.mtm.gateway.internal.protocol.PgWire;

import io.netty.buffer.ByteBuf;

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

    /** A physical or logical replication connection: it speaks its own command language. */
    boolean replication() {
        String r = values.get("replication");
        return r != null && !"false".equalsIgnoreCase(r) && !"0".equals(r) && !"off".equalsIgnoreCase(r);
    }
}
