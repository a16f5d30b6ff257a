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

    private static final java.util.regex.Pattern DOLLAR_TAG = java.util.regex.Pattern.compile("\\$[A-Za-z_]*\\$");
    private static final String SCRIPT = load();
    private static final List<String> STATEMENTS = statements(SCRIPT);
    /** The schema's comment once this script is installed: its digest, so any change of the script upgrades. */
    static final String MARK = "mtm catalog " + digest(SCRIPT);

    private CatalogSchema() {
    }

    /**
     * Installs or upgrades the schema unless this very version is installed already (its digest is the
     * schema's comment). Skipping matters: a bundle update re-activates the catalog while prepared
     * transactions hold locks on mtm tables, and those may only finish once the node is up again — an
     * install that waited for them would never end.
     */
    static void install(Connection c) throws SQLException {
        if (MARK.equals(installedMark(c))) {
            return;
        }
        Transactions.run(c, () -> {
            try (Statement st = c.createStatement()) {
                st.execute("SELECT pg_advisory_xact_lock(" + INSTALL_LOCK + ")");
                for (String sql : STATEMENTS) {
                    st.execute(sql);
                }
                st.execute("COMMENT ON SCHEMA mtm IS '" + MARK + "'");
            }
            return null;
        });
    }

    /** The comment of schema mtm (null: no schema or no comment). */
    static String installedMark(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(
                "SELECT pg_catalog.obj_description(n.oid, 'pg_namespace') FROM pg_catalog.pg_namespace n WHERE n.nspname = 'mtm'")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /**
     * The statements of a script without line comments; a statement ends with ';' at a line end outside
     * a dollar-quoted body ({@code $fn$ ... $fn$}), so function definitions stay whole.
     */
    static List<String> statements(String script) {
        List<String> result = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        String openTag = null;
        for (String raw : script.lines().toList()) {
            String line = openTag == null && raw.contains("--") ? raw.substring(0, raw.indexOf("--")) : raw;
            java.util.regex.Matcher m = DOLLAR_TAG.matcher(line);
            while (m.find()) {
                if (openTag == null) {
                    openTag = m.group();
                } else if (openTag.equals(m.group())) {
                    openTag = null;
                }
            }
            current.append(line).append('\n');
            if (openTag == null && line.strip().endsWith(";")) {
                String stmt = current.toString().strip();
                stmt = stmt.substring(0, stmt.length() - 1).strip();
                if (!stmt.isEmpty()) {
                    result.add(stmt);
                }
                current.setLength(0);
            }
        }
        if (!current.toString().isBlank()) {
            result.add(current.toString().strip());
        }
        return result;
    }

    private static String digest(String script) {
        try {
            byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(script.getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(hash, 0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
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
