package org.mtm.gateway.internal.session;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.HashMap;
import java.util.Map;

import org.mtm.gateway.internal.protocol.PgWire;

import io.netty.buffer.ByteBuf;

/**
 * The client's prepared statements and portals the gateway cares about (extended protocol), by name, kept in
 * step with its Parse, Bind and Close messages. Statements the gateway has nothing to do with (ordinary
 * row statements) are not kept: a lookup of them answers null. Methods take a whole message at {@code ri}.
 */
final class ExtendedNames {
    private KeptStatement unnamedStatement;
    private KeptStatement unnamedPortal;
    private Map<String, KeptStatement> statements;
    private Map<String, KeptStatement> portals;

    /** A Parse whose statement name ends at {@code nameEnd} defines {@code kept} (null: nothing to keep). */
    void parsed(ByteBuf in, int ri, int nameEnd, KeptStatement kept) {
        if (nameEnd == ri + 5) {
            unnamedStatement = kept;
            return;
        }
        String name = in.toString(ri + 5, nameEnd - ri - 5, UTF_8);
        if (kept != null) {
            if (statements == null) {
                statements = new HashMap<>();
            }
            statements.put(name, kept);
        } else if (statements != null) {
            statements.remove(name);
        }
    }

    /** Records which statement the Bind's portal runs; {@code limit} may end before the message does. */
    void bound(ByteBuf in, int ri, int limit) {
        int portalEnd = PgWire.cstringEnd(in, ri + 5, limit);
        int stmtEnd = portalEnd < 0 ? -1 : PgWire.cstringEnd(in, portalEnd + 1, limit);
        if (stmtEnd < 0) {
            return;
        }
        KeptStatement st;
        if (stmtEnd == portalEnd + 1) {
            st = unnamedStatement;
        } else {
            st = statements == null ? null : statements.get(in.toString(portalEnd + 1, stmtEnd - portalEnd - 1, UTF_8));
        }
        if (st != null && st.st().replication().call() != null) {
            st = st.bound(in, stmtEnd + 1, limit);
        }
        if (portalEnd == ri + 5) {
            unnamedPortal = st;
        } else if (st != null) {
            if (portals == null) {
                portals = new HashMap<>();
            }
            portals.put(in.toString(ri + 5, portalEnd - ri - 5, UTF_8), st);
        } else if (portals != null && !portals.isEmpty()) {
            portals.remove(in.toString(ri + 5, portalEnd - ri - 5, UTF_8));
        }
    }

    /** A Close of a statement ('S') or portal. */
    void closed(ByteBuf in, int ri, int total) {
        byte what = in.getByte(ri + 5);
        int nameEnd = PgWire.cstringEnd(in, ri + 6, ri + total);
        if (nameEnd < 0) {
            return;
        }
        boolean unnamed = nameEnd == ri + 6;
        if (what == 'S') {
            if (unnamed) {
                unnamedStatement = null;
            } else if (statements != null) {
                statements.remove(in.toString(ri + 6, nameEnd - ri - 6, UTF_8));
            }
        } else if (unnamed) {
            unnamedPortal = null;
        } else if (portals != null) {
            portals.remove(in.toString(ri + 6, nameEnd - ri - 6, UTF_8));
        }
    }

    /** The portal an Execute runs, or null. */
    KeptStatement executed(ByteBuf in, int ri, int total) {
        int nameEnd = PgWire.cstringEnd(in, ri + 5, ri + total);
        if (nameEnd == ri + 5) {
            return unnamedPortal;
        }
        if (nameEnd < 0 || portals == null) {
            return null;
        }
        return portals.get(in.toString(ri + 5, nameEnd - ri - 5, UTF_8));
    }
}
