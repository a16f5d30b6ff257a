package org.mtm.gateway.internal.it;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.mtm.api.ReplicatedDdl;

/**
 * What a peer's applier would receive: a two-phase pgoutput slot with logical messages on the test server,
 * read through SQL ({@code pg_logical_slot_get_binary_changes}, proto_version 3, messages, two_phase), each
 * change summarized as text: {@code b} (BEGIN PREPARE), {@code P}, {@code K}, {@code B}, {@code C},
 * {@code I <relation>}, {@code T} (truncate), {@code M mtm.ddl <statement>}, {@code M mtm.ddl_end}. Relation
 * messages are left out (when they come is pgoutput's business). Decoding stops at the flushed WAL: the
 * server must commit synchronously.
 */
final class WalChanges {
    private final TestPostgres pg;

    WalChanges(TestPostgres pg) {
        this.pg = pg;
    }

    void create() throws SQLException {
        try (Connection c = pg.direct(); Statement st = c.createStatement()) {
            st.execute("CREATE PUBLICATION walchanges FOR ALL TABLES");
            st.execute("SELECT pg_create_logical_replication_slot('walchanges', 'pgoutput', false, true)");
        }
    }

    /** The carried settings (JSON) of the DDL messages the last {@link #take()} decoded. */
    final List<String> ddlSettings = new ArrayList<>();

    /** The changes decoded since the last call (consumed). */
    List<String> take() throws SQLException {
        ddlSettings.clear();
        List<String> out = new ArrayList<>();
        List<String> relations = new ArrayList<>();
        List<Integer> relationIds = new ArrayList<>();
        try (Connection c = pg.direct(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT data FROM pg_logical_slot_get_binary_changes('walchanges', NULL, NULL, "
                     + "'proto_version', '3', 'publication_names', 'walchanges', 'messages', 'true', 'two_phase', 'on')")) {
            while (rs.next()) {
                ByteBuffer b = ByteBuffer.wrap(rs.getBytes(1));
                char type = (char) b.get();
                switch (type) {
                    case 'R' -> {
                        relationIds.add(b.getInt());
                        cstring(b);
                        relations.add(cstring(b));
                    }
                    case 'I', 'U', 'D' -> {
                        int id = b.getInt();
                        int k = relationIds.lastIndexOf(id);
                        out.add(type + " " + (k < 0 ? "?" : relations.get(k)));
                    }
                    case 'M' -> {
                        b.get(); // flags
                        b.getLong(); // lsn
                        String prefix = cstring(b);
                        byte[] content = new byte[b.getInt()];
                        b.get(content);
                        if (prefix.equals(ReplicatedDdl.PREFIX)) {
                            ReplicatedDdl ddl = ReplicatedDdl.decode(content);
                            ddlSettings.add(ddl.settings());
                            out.add("M " + prefix + " " + ddl.statement() + " [" + ddl.searchPath() + " / " + ddl.role() + "]");
                        } else {
                            out.add("M " + prefix + (content.length == 0 ? "" : " " + content.length + " bytes"));
                        }
                    }
                    case 'Y', 'O' -> { }
                    default -> out.add(String.valueOf(type));
                }
            }
        }
        return out;
    }

    /** Only the DDL messages of {@link #take()}. */
    List<String> messages() throws SQLException {
        return take().stream().filter(s -> s.startsWith("M mtm.ddl")).toList();
    }

    private static String cstring(ByteBuffer b) {
        int start = b.position();
        while (b.get() != 0) {
            // to the terminator
        }
        return new String(b.array(), start, b.position() - start - 1, StandardCharsets.UTF_8);
    }
}
