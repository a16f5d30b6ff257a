package org.mtm.gateway.internal.session;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.mtm.api.ReplicatedDdl;
import org.mtm.gateway.internal.sql.LikeElements;
import org.mtm.gateway.internal.sql.PreparedQueries;
import org.mtm.gateway.internal.sql.Replication;
import org.mtm.gateway.internal.sql.TempStandIns;

/**
 * The statements that bracket a global DDL statement on the origin (DESIGN §2 "DDL"): just before it, a
 * transactional logical message {@value ReplicatedDdl#PREFIX} whose content is {@link ReplicatedDdl#encode()}
 * of (search_path, current_user, statement), built server-side so that the settings are the session's at that
 * moment and the statement's bytes are converted from the client's encoding like the client's own; just after
 * it, {@value ReplicatedDdl#END_PREFIX} with empty content. The appliers run the text and skip the row changes
 * in between.
 *
 * <p>A statement on named relations (DROP TABLE a, b; ALTER TABLE a; CREATE INDEX ON a ...) is not logged when
 * every one of them is temporary (or a stand-in of a temporary object, an unlogged relation in a schema
 * {@code mtm_temp_...}): then the message statement answers {@code temporary} or {@code unlogged} (a stand-in)
 * instead of the message's LSN. Other unlogged relations are on every node (their rows are each node's own). A statement
 * on a database other than the session's is not logged either ({@code other database}). Pure.
 */
final class DdlMessages {
    /** Answer of the message statement when the relations are all temporary (at least one) or unlogged. */
    static final String TEMPORARY = "temporary";
    static final String UNLOGGED = "unlogged";
    /** Answer of the message statement when the statement is on a database other than the session's. */
    static final String OTHER_DATABASE = "other database";

    /**
     * Transaction-local marker between the two messages: the end message is written only when the DDL message
     * was (the gateway pipelines both around the statement before it knows).
     */
    private static final String OPEN = "'mtm.ddl_open'";
    /**
     * Transaction-local marker from the message statement to the end statement, whatever the message statement
     * answered: the gateway has seen the DDL statement in between. The mtm schema's event trigger refuses DDL in
     * gateway sessions without it (DDL the gateway cannot see: inside functions, procedures, DO blocks).
     */
    private static final String SEEN = "'mtm.ddl_seen'";
    private static final String MARK_SEEN = " OPERATOR(pg_catalog.||) pg_catalog.left(pg_catalog.set_config(" + SEEN
            + ", 'on', true), 0)";
    /**
     * Transaction-local note of the named relations' column counts just before the statement ("oid:relnatts ..."):
     * the mtm schema's ALTER TABLE event trigger tells from it which columns the statement added, and carries to the
     * other nodes the value such a column took in the rows already there when each node would compute its own
     * ({@code mtm.refuse_node_computed_column}: a default such as now()).
     */
    private static final String MARK_NATTS = " OPERATOR(pg_catalog.||) pg_catalog.left(pg_catalog.set_config("
            + "'mtm.ddl_relnatts', COALESCE(l.natts, ''), true), 0)";

    /**
     * The end message; then tables the statement left without a primary key get REPLICA IDENTITY FULL (the
     * publication is FOR ALL TABLES: PostgreSQL refuses UPDATE and DELETE on them otherwise), as each applier
     * does after running the statement. The subquery runs only when the DDL message was written; the seen
     * marker is cleared in any case.
     */
    static final String END_SQL = "SELECT pg_catalog.set_config(" + SEEN + ", '', true),"
            + " (SELECT pg_catalog.pg_logical_emit_message(true, '" + ReplicatedDdl.END_PREFIX
            + "', ''::pg_catalog.bytea)::pg_catalog.text OPERATOR(pg_catalog.||) pg_catalog.set_config(" + OPEN + ", '', true)"
            + " OPERATOR(pg_catalog.||) (SELECT pg_catalog.count(*) FROM mtm.ensure_replica_identity())::pg_catalog.text"
            + " WHERE pg_catalog.current_setting(" + OPEN + ", true) = 'on')";

    /**
     * After a SELECT that calls setval() ({@link Replication#setsSequences()}): each node moves the sequences left
     * outside its residue back into it, above the value set. Appended to the replicated text, and run by the
     * origin's end statement.
     */
    static final String RESTRIDE = "SELECT pg_catalog.count(*) FROM mtm.restride_sequences()";
    private static final String END_RESTRIDE_SQL = END_SQL + ", (" + RESTRIDE + ")";

    /**
     * Version 3 of {@link ReplicatedDdl}: search_path, role, statement, the table a CREATE TABLE ... AS / SELECT ...
     * INTO creates ({@code $2}; empty otherwise), and the session's {@link ReplicatedDdl#CARRIED_SETTINGS} as JSON.
     */
    private static final String CONTENT = "pg_catalog.decode('03', 'hex')"
            + " OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.length(m.p)) OPERATOR(pg_catalog.||) m.p"
            + " OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.length(m.r)) OPERATOR(pg_catalog.||) m.r"
            + " OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.length(m.s)) OPERATOR(pg_catalog.||) m.s"
            + " OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.length(m.t)) OPERATOR(pg_catalog.||) m.t"
            + " OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.length(m.g)) OPERATOR(pg_catalog.||) m.g";
    private static final String CARRIED = carriedSettings();
    private static final String EMIT = "pg_catalog.pg_logical_emit_message(true, '" + ReplicatedDdl.PREFIX + "', "
            + CONTENT + ")::pg_catalog.text OPERATOR(pg_catalog.||) pg_catalog.left(pg_catalog.set_config(" + OPEN
            + ", 'on', true), 0)";
    private static final String SETTINGS = "(SELECT pg_catalog.convert_to(pg_catalog.current_setting('search_path'), 'UTF8') AS p,"
            + " pg_catalog.convert_to(CURRENT_USER::pg_catalog.text, 'UTF8') AS r,"
            + " pg_catalog.convert_to($1::pg_catalog.text, 'UTF8') AS s, ''::pg_catalog.bytea AS t,"
            + " pg_catalog.convert_to(" + CARRIED + "::pg_catalog.text, 'UTF8') AS g) AS m";
    private static final String SETTINGS_CREATED = SETTINGS.replace("''::pg_catalog.bytea AS t",
            "pg_catalog.convert_to($2::pg_catalog.text, 'UTF8') AS t");

    /**
     * CREATE TABLE ... AS EXECUTE name: the replicated statement is {@code mtm.ctas_execute_text} of the text with the
     * name replaced ({@code $1}), the name ({@code $3}), the query of the session's PREPARE of it ({@code $4}, ''
     * when the gateway saw none) and that PREPARE statement's text ({@code $5}).
     */
    private static final String SETTINGS_EXECUTED = SETTINGS_CREATED.replace(
            "pg_catalog.convert_to($1::pg_catalog.text, 'UTF8') AS s",
            "pg_catalog.convert_to(mtm.ctas_execute_text($1::pg_catalog.text, $3::pg_catalog.text,"
                    + " NULLIF($4::pg_catalog.text, ''), NULLIF($5::pg_catalog.text, '')), 'UTF8') AS s");

    private DdlMessages() {
    }

    /** The message statement of a global DDL statement and its parameters. */
    record Emit(String sql, List<byte[]> params) {
    }

    /**
     * The message statement and its parameters for the global DDL statement {@code statement} (the client's bytes)
     * of class {@code r}; a CREATE TABLE ... AS EXECUTE carries the prepared statement's query
     * ({@link PreparedQueries}).
     */
    static Emit emit(byte[] statement, Replication r, PreparedQueries prepared, boolean standardStrings) {
        PreparedQueries.Executed executed = r.created() == null ? null
                : PreparedQueries.executed(new String(statement, StandardCharsets.ISO_8859_1), standardStrings);
        if (executed == null) {
            return new Emit(emitSql(r), emitParams(statement, r));
        }
        byte[] renamed = executed.renamed(new String(statement, StandardCharsets.ISO_8859_1))
                .getBytes(StandardCharsets.ISO_8859_1);
        List<byte[]> params = emitParams(renamed, r);
        params.add(executed.name().getBytes(StandardCharsets.ISO_8859_1));
        PreparedQueries.Prepared p = prepared.get(executed.name());
        params.add(p == null ? new byte[0] : p.query().getBytes(StandardCharsets.ISO_8859_1));
        params.add(p == null ? new byte[0] : p.statement().getBytes(StandardCharsets.ISO_8859_1));
        return new Emit("SELECT " + EMIT + MARK_SEEN + " FROM " + SETTINGS_EXECUTED, params);
    }

    /** {@code json_build_object('DateStyle', current_setting('DateStyle'), ...)} of the carried settings. */
    private static String carriedSettings() {
        StringBuilder b = new StringBuilder("pg_catalog.json_build_object(");
        for (String name : ReplicatedDdl.CARRIED_SETTINGS) {
            b.append(b.charAt(b.length() - 1) == '(' ? "" : ", ").append('\'').append(name).append("', ");
            if (name.equals(ReplicatedDdl.VOLKSWAGEN_MODE)) {
                // a placeholder setting: unset (the default) is off
                b.append("COALESCE(NULLIF(pg_catalog.current_setting('").append(name).append("', true), ''), 'off')");
            } else {
                b.append("pg_catalog.current_setting('").append(name).append("')");
            }
        }
        return b.append(')').toString();
    }

    /** The end statement of a statement of class {@code r}. */
    static String endSql(Replication r) {
        return r.setsSequences() ? END_RESTRIDE_SQL : END_SQL;
    }

    /**
     * The message statement of a statement of class {@code r}: {@code $1} the statement's text, then {@code $2} the
     * table it creates (CREATE TABLE ... AS, SELECT ... INTO), or {@code $2..} the names of its relations (of a
     * CREATE TABLE ... (LIKE source): {@link #likeSql}).
     */
    static String emitSql(Replication r) {
        if (r.created() != null) {
            return "SELECT " + EMIT + MARK_SEEN + " FROM " + SETTINGS_CREATED;
        }
        if (r.dropList() != null) {
            return dropSql(r.relations().size());
        }
        if (r.like() != null) {
            return likeSql(r.like().sources().size());
        }
        if (r.database() != null) {
            return "SELECT CASE WHEN $2::pg_catalog.text OPERATOR(pg_catalog.=) pg_catalog.current_database()::pg_catalog.text"
                    + " THEN " + EMIT + " ELSE '" + OTHER_DATABASE + "' END" + MARK_SEEN + " FROM " + SETTINGS;
        }
        return emitSql(r.relations().size());
    }

    /**
     * The message statement of a DROP of several relations ({@code $2..} their names, then the text before the first
     * and after the last): local when all are node-local; when only some are, the other nodes get the statement
     * without those — they have no such relations (a stand-in, a temporary or unlogged table), and PostgreSQL drops
     * a list in one statement.
     */
    static String dropSql(int relations) {
        StringBuilder names = new StringBuilder();
        for (int i = 0; i < relations; i++) {
            names.append(i == 0 ? "" : ", ").append('$').append(i + 2);
        }
        String before = "$" + (relations + 2);
        String after = "$" + (relations + 3);
        String text = "(CASE WHEN l.some THEN " + before + "::pg_catalog.text OPERATOR(pg_catalog.||) l.kept"
                + " OPERATOR(pg_catalog.||) " + after + "::pg_catalog.text ELSE $1::pg_catalog.text END)";
        return "SELECT CASE WHEN l.local THEN CASE WHEN l.temp THEN '" + TEMPORARY + "' ELSE '" + UNLOGGED + "' END"
                + " ELSE " + EMIT + " END" + MARK_SEEN + " FROM (SELECT pg_catalog.count(c.oid) OPERATOR(pg_catalog.>) 0"
                + " AND pg_catalog.bool_and(" + NODE_LOCAL + ") AS local,"
                + " pg_catalog.bool_or(c.relpersistence = 't') AS temp,"
                + " COALESCE(pg_catalog.bool_or(" + NODE_LOCAL + "), false) AS some,"
                + " pg_catalog.string_agg(n.name, ', ' ORDER BY n.i) FILTER (WHERE c.oid IS NULL OR NOT " + NODE_LOCAL + ") AS kept"
                + " FROM pg_catalog.unnest(ARRAY[" + names + "]::pg_catalog.text[]) WITH ORDINALITY AS n(name, i)"
                + " LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(n.name)) AS l, LATERAL "
                + SETTINGS.replace("$1::pg_catalog.text", text);
    }

    /**
     * The message statement of a CREATE TABLE ... (LIKE source) with {@code elements} LIKE elements: the other nodes
     * run {@code mtm.like_text} of the text, where a node-local source's element is its columns written out. Its
     * parameters after the statement ({@code $1}): the sources, the elements' texts, their options in effect, the
     * text around them ({@link LikeElements}).
     */
    static String likeSql(int elements) {
        int n = elements;
        String text = "mtm.like_text($1::pg_catalog.text, " + array(2, n) + ", " + array(2 + n, n) + ", "
                + array(2 + 2 * n, n) + ", " + array(2 + 3 * n, n + 1) + ")";
        return "SELECT " + EMIT + MARK_SEEN + " FROM " + SETTINGS.replace("$1::pg_catalog.text", text);
    }

    /** {@code ARRAY[$from, ...]::text[]} of {@code count} parameters. */
    private static String array(int from, int count) {
        StringBuilder b = new StringBuilder("ARRAY[");
        for (int i = 0; i < count; i++) {
            b.append(i == 0 ? "" : ", ").append('$').append(from + i);
        }
        return b.append("]::pg_catalog.text[]").toString();
    }

    /** A relation that exists on this node only: temporary, or a stand-in of a temporary one. */
    private static final String NODE_LOCAL = "(c.relpersistence = 't' OR pg_catalog.starts_with("
            + "c.relnamespace::pg_catalog.regnamespace::pg_catalog.text, '" + TempStandIns.SCHEMA_PREFIX + "'))";

    /** The message statement: {@code $1} the statement's text, {@code $2..} the names of its relations. */
    static String emitSql(int relations) {
        if (relations == 0) {
            return "SELECT " + EMIT + MARK_SEEN + " FROM " + SETTINGS;
        }
        StringBuilder names = new StringBuilder();
        for (int i = 0; i < relations; i++) {
            names.append(i == 0 ? "" : ", ").append('$').append(i + 2);
        }
        return "SELECT CASE WHEN l.local THEN CASE WHEN l.temp THEN '" + TEMPORARY + "' ELSE '" + UNLOGGED + "' END"
                + " ELSE " + EMIT + " END" + MARK_SEEN + MARK_NATTS + " FROM " + SETTINGS + ", (SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0"
                + " AND pg_catalog.bool_and(c.relpersistence = 't' OR pg_catalog.starts_with("
                + "c.relnamespace::pg_catalog.regnamespace::pg_catalog.text, '" + TempStandIns.SCHEMA_PREFIX + "')) AS local,"
                + " pg_catalog.bool_or(c.relpersistence = 't') AS temp,"
                + " pg_catalog.string_agg(c.oid::pg_catalog.text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||)"
                + " c.relnatts::pg_catalog.text, ' ') AS natts"
                + " FROM pg_catalog.unnest(ARRAY[" + names + "]::pg_catalog.text[]) AS n(name)"
                + " LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(n.name)) AS l";
    }

    /**
     * The parameters of {@link #emitSql}: the statement's bytes as the client sent them, and the relation
     * names (chars of the client's bytes, see {@code Latin1View}).
     */
    static List<byte[]> emitParams(byte[] statement, Replication r) {
        if (r.setsSequences()) {
            // a line of its own: the statement may end in a -- comment
            byte[] tail = ("\n;" + RESTRIDE).getBytes(StandardCharsets.US_ASCII);
            byte[] text = java.util.Arrays.copyOf(statement, statement.length + tail.length);
            System.arraycopy(tail, 0, text, statement.length, tail.length);
            statement = text;
        }
        if (r.dropList() != null) {
            List<String> more = new ArrayList<>(r.relations());
            more.addAll(r.dropList());
            return emitParams(statement, more);
        }
        if (r.database() != null) {
            return emitParams(statement, List.of(r.database()));
        }
        if (r.like() != null) {
            List<String> more = new ArrayList<>(r.like().sources());
            more.addAll(r.like().elements());
            more.addAll(r.like().including());
            more.addAll(r.like().between());
            return emitParams(statement, more);
        }
        return emitParams(statement, r.created() != null ? List.of(r.created()) : r.relations());
    }

    static List<byte[]> emitParams(byte[] statement, List<String> relations) {
        List<byte[]> params = new ArrayList<>(1 + relations.size());
        params.add(statement);
        for (String r : relations) {
            params.add(r.getBytes(StandardCharsets.ISO_8859_1));
        }
        return params;
    }
}
