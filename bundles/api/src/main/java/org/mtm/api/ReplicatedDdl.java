package org.mtm.api;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A global DDL statement as the gateway logs it in the origin's WAL (transactional logical message with
 * prefix {@link #PREFIX}, emitted just before the statement runs) and the applier re-executes on every
 * peer inside the same distributed transaction, with the session settings it depends on. The row changes
 * the statement itself produces on the origin (up to the message with prefix {@link #END_PREFIX}) are not
 * applied: the re-executed statement produces them on each peer.
 *
 * @param searchPath the origin session's {@code search_path}
 * @param role       the origin session's {@code current_user}
 * @param statement  the statement text, exactly as the client sent it
 * @param created    for CREATE TABLE ... AS and SELECT ... INTO: the table the statement creates, as written (empty
 *                   otherwise). Its rows are the origin's, carried as row changes (a query can give each node other
 *                   rows: random(), now(), an order without ORDER BY): a node that runs the statement empties the
 *                   table it created and applies the origin's rows of it, which are not skipped. Version 2 of the
 *                   message; version 1 has no such field.
 * @param settings   the origin session's values of {@link #CARRIED_SETTINGS} as a JSON object (empty: none, as in
 *                   versions 1 and 2): settings that change what a DDL statement's text means — how its literals
 *                   are parsed (DateStyle, standard_conforming_strings…) or what it creates (default_table_access_method,
 *                   default_tablespace…). Version 3 of the message always has the created and settings fields.
 */
public record ReplicatedDdl(String searchPath, String role, String statement, String created, String settings) {
    public static final String PREFIX = "mtm.ddl";
    public static final String END_PREFIX = "mtm.ddl_end";
    /**
     * A transactional message the origin's ALTER TABLE event trigger logs inside a DDL statement's bracket (schema.sql,
     * {@code mtm.refuse_node_computed_column}): UTF-8 text of one statement that gives columns the statement added the
     * values the origin computed for the rows already there, which every other node runs after the statement. Either
     * {@code ALTER TABLE ... ALTER COLUMN ... TYPE ... USING <literal>}, one value for every row (a default such as
     * now()), or {@code UPDATE ONLY ... FROM unnest(<arrays>)}, each row's own values (a volatile default such as
     * random(), found by the md5 of the row's other columns: {@code mtm.carry_row_values}). Literals and row texts are
     * written in {@link #VALUE_SETTINGS}. A node that runs an UPDATE of them logs the message again, the rows it
     * changed, then an empty message of this prefix: a node recovering from it runs the statement and skips those rows.
     */
    public static final String VALUE_PREFIX = "mtm.ddl_value";
    /**
     * A transactional message the origin logs inside a DDL statement's bracket for each table the statement rewrote
     * (schema.sql): UTF-8 {@code <the table's qualified name>\n<mtm.rows_digest of its rows>}. Every node that runs the
     * statement compares its own digest (after the {@link #VALUE_PREFIX} statements before it) and refuses the
     * transaction with 0A000 when they differ: the rewrite computed values that depend on the node or the moment.
     */
    public static final String CHECK_PREFIX = "mtm.ddl_check";
    /**
     * A transactional message the origin's event triggers log inside a DDL statement's bracket when the statement
     * turned out to concern objects of that node only — a routine whose signature names a temporary table's row type
     * (schema.sql, {@code mtm.refuse_routine_on_stand_in}), which PostgreSQL drops with the temporary table: the other
     * nodes do not run the statement (they run a bracket's statement at its first row, carried value or end).
     */
    public static final String LOCAL_PREFIX = "mtm.ddl_local";
    /**
     * The settings a {@link #VALUE_PREFIX} statement runs with: those its literals and the row texts it finds rows by
     * were written in (schema.sql, {@code mtm.carry_row_values}).
     */
    public static final String VALUE_SETTINGS = "{\"DateStyle\": \"ISO, YMD\", \"IntervalStyle\": \"postgres\","
            + " \"TimeZone\": \"UTC\", \"extra_float_digits\": \"3\", \"bytea_output\": \"hex\", \"array_nulls\": \"on\"}";
    private static final byte VERSION = 1;
    private static final byte VERSION_CREATED = 2;
    private static final byte VERSION_SETTINGS = 3;

    /**
     * Session settings a peer must share with the origin to run the same DDL text to the same result (all settable
     * by any user, present in PostgreSQL 15 to 17). search_path and the role travel in their own fields.
     */
    public static final java.util.List<String> CARRIED_SETTINGS = java.util.List.of("DateStyle", "IntervalStyle",
            "TimeZone", "standard_conforming_strings", "backslash_quote", "array_nulls", "transform_null_equals",
            "xmloption", "lc_monetary", "check_function_bodies", "default_table_access_method", "default_tablespace",
            "default_toast_compression", ReplicatedDdl.VOLKSWAGEN_MODE,
            // how values are written as text, which a rewrite's cast (ALTER COLUMN f TYPE text) or a USING expression
            // stores (session 23: extra_float_digits = 0 and bytea_output = escape left the origin other text)
            "extra_float_digits", "bytea_output", "lc_numeric", "lc_time", "timezone_abbreviations",
            "default_text_search_config", "xmlbinary");

    /**
     * The cluster's own session setting that changes what a DDL statement creates: {@code on} in a session, the
     * sequences its statements create or change are not node-strided — on the origin and, carried with the statement,
     * on every peer (schema.sql, {@code mtm.volkswagen_mode()}). Unset in a session means {@code off}; an applier
     * sets it {@code off} for its own session, so that the carried value can be set for one statement.
     */
    public static final String VOLKSWAGEN_MODE = "mtm.volkswagen_mode";

    public ReplicatedDdl(String searchPath, String role, String statement) {
        this(searchPath, role, statement, "", "");
    }

    public ReplicatedDdl(String searchPath, String role, String statement, String created) {
        this(searchPath, role, statement, created, "");
    }

    public ReplicatedDdl {
        created = created == null ? "" : created;
        settings = settings == null ? "" : settings;
    }

    /** The statement creates a table whose rows travel as the origin's row changes. */
    public boolean carriesRows() {
        return !created.isEmpty();
    }

    /**
     * Whether running the statement again on a node writes there the row changes the origin logged between this
     * message and its end: a statement that runs a query (a SELECT that calls setval(), CREATE TABLE ... AS, SELECT
     * ... INTO, with whatever functions they call) or an extension script (CREATE/ALTER EXTENSION). Such rows are the
     * node's own run's, and the origin's are skipped. Any other DDL writes rows only through user triggers and event
     * triggers (a DDL audit log), which do not fire where an applier runs it (session_replication_role = replica):
     * those rows are applied from the origin, with the origin's values. In doubt, true (the rows are skipped).
     */
    public boolean rerunWritesRows() {
        if (carriesRows()) {
            return true;
        }
        java.util.List<String> w = words(statement);
        String first = w.isEmpty() ? "" : w.get(0);
        if (java.util.Set.of("SELECT", "WITH", "VALUES", "TABLE", "EXECUTE").contains(first)) {
            return true;
        }
        if ((first.equals("CREATE") || first.equals("ALTER")) && w.size() > 1 && w.get(1).equals("EXTENSION")) {
            return true;
        }
        for (int i = 0; i + 1 < w.size(); i++) { // CREATE TABLE ... AS SELECT (or EXECUTE) not named as such
            if (w.get(i).equals("AS") && java.util.Set.of("SELECT", "WITH", "VALUES", "TABLE", "EXECUTE").contains(w.get(i + 1))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The key words and identifiers of {@code sql}, upper case, in order; string literals, quoted identifiers,
     * dollar-quoted bodies and comments left out.
     */
    static java.util.List<String> words(String sql) {
        java.util.List<String> words = new java.util.ArrayList<>();
        int i = 0;
        int len = sql.length();
        while (i < len) {
            char c = sql.charAt(i);
            if (sql.startsWith("--", i)) {
                int nl = sql.indexOf('\n', i);
                i = nl < 0 ? len : nl + 1;
            } else if (sql.startsWith("/*", i)) {
                int depth = 0;
                do { // PostgreSQL's block comments nest
                    if (sql.startsWith("/*", i)) {
                        depth++;
                        i += 2;
                    } else if (sql.startsWith("*/", i)) {
                        depth--;
                        i += 2;
                    } else {
                        i++;
                    }
                } while (depth > 0 && i < len);
            } else if (c == '\'' || c == '"') {
                // E'...' strings take backslash escapes (E is a word just before: the last one, ending here)
                boolean escapes = c == '\'' && i > 0 && (sql.charAt(i - 1) == 'E' || sql.charAt(i - 1) == 'e')
                        && !words.isEmpty() && words.get(words.size() - 1).equals("E");
                if (escapes) {
                    words.remove(words.size() - 1);
                }
                int end = i + 1;
                while (end < len && sql.charAt(end) != c) {
                    end += escapes && sql.charAt(end) == '\\' ? 2 : 1;
                }
                while (end + 1 < len && sql.charAt(end + 1) == c) { // a doubled quote: the literal goes on
                    end += 2;
                    while (end < len && sql.charAt(end) != c) {
                        end += escapes && sql.charAt(end) == '\\' ? 2 : 1;
                    }
                }
                i = end + 1;
            } else if (c == '$' && sql.indexOf('$', i + 1) > 0
                    && sql.substring(i + 1, sql.indexOf('$', i + 1)).matches("[A-Za-z_0-9]*")) {
                String tag = sql.substring(i, sql.indexOf('$', i + 1) + 1);
                int close = sql.indexOf(tag, i + tag.length());
                i = close < 0 ? len : close + tag.length();
            } else if (Character.isLetter(c) || c == '_') {
                int start = i;
                while (i < len && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '_' || sql.charAt(i) == '$')) {
                    i++;
                }
                words.add(sql.substring(start, i).toUpperCase(java.util.Locale.ROOT));
            } else {
                i++;
            }
        }
        return words;
    }

    public byte[] encode() {
        byte version = !settings.isEmpty() ? VERSION_SETTINGS : carriesRows() ? VERSION_CREATED : VERSION;
        byte[][] parts = version == VERSION_SETTINGS
                ? new byte[][] {utf8(searchPath), utf8(role), utf8(statement), utf8(created), utf8(settings)}
                : version == VERSION_CREATED ? new byte[][] {utf8(searchPath), utf8(role), utf8(statement), utf8(created)}
                : new byte[][] {utf8(searchPath), utf8(role), utf8(statement)};
        int size = 1;
        for (byte[] p : parts) {
            size += 4 + p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size).put(version);
        for (byte[] p : parts) {
            b.putInt(p.length).put(p);
        }
        return b.array();
    }

    public static ReplicatedDdl decode(byte[] bytes) {
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            byte version = b.get();
            if (version != VERSION && version != VERSION_CREATED && version != VERSION_SETTINGS) {
                throw new IllegalArgumentException("DDL message version " + bytes[0] + ", expected " + VERSION + " to "
                        + VERSION_SETTINGS + " (a node of a newer mtm? update this node's bundles)");
            }
            int n = version == VERSION ? 3 : version == VERSION_CREATED ? 4 : 5;
            String[] parts = new String[5];
            for (int i = 0; i < n; i++) {
                byte[] p = new byte[b.getInt()];
                b.get(p);
                parts[i] = new String(p, StandardCharsets.UTF_8);
            }
            if (b.hasRemaining()) {
                throw new IllegalArgumentException(b.remaining() + " trailing bytes after a DDL message");
            }
            return new ReplicatedDdl(parts[0], parts[1], parts[2], parts[3], parts[4]);
        } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
            throw new IllegalArgumentException("truncated DDL message of " + bytes.length + " bytes", e);
        }
    }

    private static byte[] utf8(String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }
}
