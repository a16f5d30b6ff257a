package org.mtm.postgres.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** Schema {@code mtm} from the bundled {@code schema.sql}: idempotent, serialized across installers. */
final class CatalogSchema {
    /** Advisory lock key: concurrent CREATE ... IF NOT EXISTS can still collide in pg_type. */
    private static final long INSTALL_LOCK = 0x6d746d5f736368L; // "mtm_sch"

    private static final List<String> STATEMENTS = statements(load());

    private CatalogSchema() {
    }

    static void install(Connection c) throws SQLException {
        Transactions.run(c, () -> {
            try (Statement st = c.createStatement()) {
                st.execute("SELECT pg_advisory_xact_lock(" + INSTALL_LOCK + ")");
                for (String sql : STATEMENTS) {
                    st.execute(sql);
                }
            }
            return null;
        });
    }

    /** The statements of a script without comments; statements end with ';' at a line end. */
    static List<String> statements(String script) {
        String code = script.lines()
                .map(l -> l.contains("--") ? l.substring(0, l.indexOf("--")) : l)
                .collect(Collectors.joining("\n"));
        List<String> result = new ArrayList<>();
        for (String part : code.split(";\\s*(\\n|$)")) {
            if (!part.isBlank()) {
                result.add(part.strip());
            }
        }
        return result;
    }

    private static String load() {
        try (InputStream in = CatalogSchema.class.getResourceAsStream("schema.sql")) {
            if (in == null) {
                throw new IllegalStateException("schema.sql is missing from the mtm postgres bundle");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read schema.sql of the mtm postgres bundle", e);
        }
    }
}
