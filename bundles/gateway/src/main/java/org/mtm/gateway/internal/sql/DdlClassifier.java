package org.mtm.gateway.internal.sql;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.mtm.gateway.internal.sql.SqlToken.Type;

/**
 * Classifies utility statements (DDL and the rest) for replication, from their tokens (DESIGN §2 "DDL",
 * manual F.31.6.1):
 * <ul>
 * <li>global DDL — CREATE, ALTER, DROP, COMMENT, GRANT, REVOKE, SECURITY LABEL, REFRESH MATERIALIZED VIEW,
 * IMPORT FOREIGN SCHEMA, REASSIGN OWNED, CREATE TABLE AS / SELECT INTO (CREATE TABLE AS EXECUTE too: the message
 * carries the prepared statement's query, {@link PreparedQueries}); for statements on named relations
 * the names are kept, so that the gateway can ask the catalog whether they are temporary (or stand-ins). Unlogged
 * tables and sequences are global DDL too: every node has the table, and its rows are each node's own (never
 * decoded);</li>
 * <li>local — ALTER SYSTEM, CREATE/DROP DATABASE, REINDEX, CHECKPOINT, CLUSTER, LOAD, VACUUM, ANALYZE,
 * subscriptions (COMMENT ON SUBSCRIPTION too); ALTER DATABASE, COMMENT ON DATABASE and
 * GRANT/REVOKE ON DATABASE of a database other than the session's; LISTEN/UNLISTEN/NOTIFY are local too (their own
 * class);</li>
 * <li>temporary — CREATE TEMP TABLE/VIEW/SEQUENCE, SELECT INTO TEMP, objects in {@code pg_temp};</li>
 * <li>refused — statements that cannot run inside the cluster's distributed transaction: CREATE INDEX
 * CONCURRENTLY, DROP INDEX CONCURRENTLY, CREATE/DROP TABLESPACE, ALTER DATABASE SET TABLESPACE; DDL with
 * parameters; and ALTER EVENT TRIGGER ... ENABLE ALWAYS/REPLICA, which would fire again where the other nodes run the
 * DDL.</li>
 * </ul>
 * Pure; works on the tokens {@link SqlSplitter#tokens} returns.
 */
final class DdlClassifier {
    private final CharSequence s;
    private final List<SqlToken> t;

    private DdlClassifier(CharSequence s, List<SqlToken> tokens) {
        this.s = s;
        this.t = tokens;
    }

    /** A statement that starts with a word other than the plain DML/query/transaction-control ones. */
    static Replication classify(CharSequence s, List<SqlToken> tokens) {
        DdlClassifier c = new DdlClassifier(s, tokens);
        return c.withoutParameters(c.statement(0));
    }

    /** A SELECT (or WITH/TABLE/VALUES) statement with {@code INTO} at its top level: a CREATE TABLE AS. */
    static Replication selectInto(CharSequence s, List<SqlToken> tokens) {
        DdlClassifier c = new DdlClassifier(s, tokens);
        int into = c.topLevelInto(0);
        return into < 0 ? Replication.ROWS : c.withoutParameters(c.intoTarget(into + 1));
    }

    private Replication statement(int i) {
        if (i >= t.size() || t.get(i).type() != Type.WORD) {
            return Replication.ROWS;
        }
        String w = t.get(i).name(s);
        return switch (w) {
            case "create" -> create(i + 1);
            case "alter" -> alter(i + 1);
            case "drop" -> drop(i + 1);
            case "comment" -> comment(i + 1);
            case "grant", "revoke" -> grant(i + 1);
            case "security", "refresh", "import", "reassign" -> Replication.GLOBAL;
            case "reindex", "cluster", "vacuum", "analyze", "analyse", "checkpoint", "load" -> Replication.LOCAL;
            case "listen", "unlisten", "notify" -> Replication.NOTIFY;
            case "explain" -> explain(i + 1);
            case "select", "with", "table", "values" -> {
                int into = topLevelInto(i);
                yield into < 0 ? Replication.ROWS : intoTarget(into + 1);
            }
            default -> Replication.ROWS;
        };
    }

    // ------------------------------------------------------------------ CREATE

    private Replication create(int i) {
        if (word(i, "or") && word(i + 1, "replace")) {
            i += 2;
        }
        boolean temporary = false;
        while (true) {
            if (word(i, "temp") || word(i, "temporary")) {
                temporary = true;
                i++;
            } else if ((word(i, "local") || word(i, "global")) && (word(i + 1, "temp") || word(i + 1, "temporary"))) {
                temporary = true;
                i += 2;
            } else if (word(i, "unlogged")) {
                i++; // made on every node like a logged table; its rows stay on the node that writes them
            } else if (word(i, "unique") || word(i, "recursive") || word(i, "trusted") || word(i, "procedural")) {
                i++;
            } else {
                break;
            }
        }
        if (!isWord(i)) {
            return Replication.GLOBAL;
        }
        switch (t.get(i).name(s)) {
            case "extension" -> {
                int n = skipIfNotExists(i + 1);
                if (n < t.size() && isName(n) && t.get(n).name(s).equals("multimaster")) {
                    return Replication.surface(SurfaceCall.createExtension());
                }
                return Replication.GLOBAL;
            }
            case "database", "subscription" -> {
                return Replication.LOCAL;
            }
            case "tablespace" -> {
                return tablespace("CREATE TABLESPACE");
            }
            case "index" -> {
                if (word(i + 1, "concurrently")) {
                    return Replication.refused("[multimaster] CREATE INDEX CONCURRENTLY is not supported: it cannot run "
                                    + "inside the distributed transaction that creates the index on every node",
                            "Use CREATE INDEX without CONCURRENTLY (it blocks writes to the table while it builds).");
                }
                return onRelation(firstWordAtDepth0(i + 1, "on"));
            }
            case "table", "sequence", "view" -> {
                if (temporary) {
                    return Replication.TEMPORARY;
                }
                int n = skipIfNotExists(i + 1);
                if (inTempSchema(n)) {
                    return Replication.TEMPORARY;
                }
                int end = qualifiedNameEnd(n);
                if (t.get(i).name(s).equals("table") && end > 0 && firstWordAtDepth0(end, "as") >= 0) {
                    return Replication.creating(qualifiedName(n, end)); // CREATE TABLE ... AS query
                }
                LikeElements like = t.get(i).name(s).equals("table") && end > 0 ? likeElements(end) : null;
                return like == null ? Replication.GLOBAL : Replication.copying(like);
            }
            case "trigger", "constraint", "policy" -> {
                return onRelation(firstWordAtDepth0(i + 1, "on"));
            }
            case "rule" -> {
                int on = firstWordAtDepth0(i + 1, "on");
                return onRelation(on < 0 ? -1 : firstWordAtDepth0(on + 1, "to"));
            }
            case "function", "procedure", "aggregate", "type", "domain" -> {
                return inTempSchema(i + 1) ? Replication.TEMPORARY : Replication.GLOBAL;
            }
            default -> {
                return Replication.GLOBAL;
            }
        }
    }

    // ------------------------------------------------------------------ ALTER

    private Replication alter(int i) {
        if (!isWord(i)) {
            return Replication.GLOBAL;
        }
        Replication intoSystemSchema = setSchemaIntoSystemSchema(i);
        if (intoSystemSchema != null) {
            return intoSystemSchema;
        }
        switch (t.get(i).name(s)) {
            case "system", "subscription" -> {
                return Replication.LOCAL;
            }
            case "database" -> {
                int set = firstWordAtDepth0(i + 1, "set");
                if (set >= 0 && word(set + 1, "tablespace")) {
                    return tablespace("ALTER DATABASE ... SET TABLESPACE");
                }
                return database(i + 1);
            }
            case "table", "index", "sequence", "view" -> {
                return alterRelation(i + 1);
            }
            case "materialized", "foreign" -> {
                return alterRelation(i + 2);
            }
            case "event" -> {
                return word(i + 1, "trigger") ? alterEventTrigger(i + 2) : Replication.GLOBAL;
            }
            default -> {
                return Replication.GLOBAL;
            }
        }
    }

    /**
     * {@code ALTER EVENT TRIGGER name ENABLE ALWAYS | ENABLE REPLICA}: refused. The other nodes run the cluster's DDL
     * as text in replica mode, where such an event trigger fires again on each of them; one that writes (a DDL audit
     * log) would leave every node with rows of its own, never replicated. Event triggers do not fire for ALTER EVENT
     * TRIGGER itself, so no net of the mtm schema can see it: the gateway is where it is refused. Other forms (ENABLE,
     * DISABLE, OWNER TO, RENAME TO) are global DDL.
     */
    private Replication alterEventTrigger(int name) {
        if (isName(name) && word(name + 1, "enable") && (word(name + 2, "always") || word(name + 2, "replica"))) {
            String mode = t.get(name + 2).name(s).toUpperCase(Locale.ROOT);
            return Replication.refused("[multimaster] ALTER EVENT TRIGGER ... ENABLE " + mode + " is not supported: the "
                            + "other nodes run the cluster's DDL in replica mode, where the event trigger would fire "
                            + "again on each of them",
                    "Use ALTER EVENT TRIGGER ... ENABLE: it fires on the node where the DDL statement runs, and what "
                            + "it writes reaches the other nodes as rows.");
        }
        return Replication.GLOBAL;
    }

    private Replication alterRelation(int i) {
        if (word(i, "all")) {
            return Replication.GLOBAL; // ALTER TABLE ALL IN TABLESPACE ...
        }
        if (word(i, "if") && word(i + 1, "exists")) {
            i += 2;
        }
        if (word(i, "only")) {
            i++;
        }
        // SET LOGGED / SET UNLOGGED run on every node: an unlogged table exists on every node (its rows are each
        // node's own); making one logged that holds rows is refused on each node by mtm.refuse_logging_node_rows
        int detach = firstWordAtDepth0(i, "detach");
        if (detach >= 0 && word(detach + 1, "partition")) {
            for (int k = detach + 2; k < t.size(); k++) {
                if (word(k, "concurrently")) {
                    return Replication.refused("[multimaster] ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY is not "
                                    + "supported: it cannot run inside the distributed transaction that detaches the "
                                    + "partition on every node",
                            "Use DETACH PARTITION without CONCURRENTLY (it takes an ACCESS EXCLUSIVE lock on the "
                                    + "partitioned table).");
                }
            }
        }
        return onRelation(i);
    }

    /** Schemas that hold the system's objects (and the cluster's node-local state): no user object may move in. */
    private static boolean systemSchema(String schema) {
        return schema.equals("pg_catalog") || schema.equals("information_schema") || schema.equals("mtm")
                || schema.startsWith("pg_toast") || schema.equals("pg_temp") || schema.startsWith("pg_temp_");
    }

    /**
     * {@code ALTER ... SET SCHEMA pg_catalog} (or information_schema, pg_toast, mtm): refused. Logical decoding and the
     * gateway's commit tell user tables by their oid, the cluster's tooling by their schema; a user table among the
     * system catalogs ends up written outside the cluster's commit on one node and stuck on the others.
     */
    private Replication setSchemaIntoSystemSchema(int from) {
        int depth = 0;
        for (int k = from; k + 2 < t.size(); k++) {
            SqlToken tok = t.get(k);
            if (tok.type() == Type.LPAREN) {
                depth++;
            } else if (tok.type() == Type.RPAREN) {
                depth--;
            } else if (depth == 0 && tok.isWord(s, "set") && word(k + 1, "schema") && isName(k + 2)
                    && systemSchema(t.get(k + 2).name(s))) {
                return Replication.refused("[multimaster] ALTER ... SET SCHEMA " + t.get(k + 2).name(s) + " is not "
                                + "supported: user objects cannot move into a system schema, where the cluster would "
                                + "not replicate them like other user objects",
                        "Keep user objects in user schemas (CREATE SCHEMA, then ALTER ... SET SCHEMA into it).");
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ DROP

    private Replication drop(int i) {
        if (!isWord(i)) {
            return Replication.GLOBAL;
        }
        switch (t.get(i).name(s)) {
            case "database", "subscription" -> {
                return Replication.LOCAL;
            }
            case "tablespace" -> {
                return tablespace("DROP TABLESPACE");
            }
            case "index" -> {
                if (word(i + 1, "concurrently")) {
                    return Replication.refused("[multimaster] DROP INDEX CONCURRENTLY is not supported: it cannot run "
                                    + "inside the distributed transaction that drops the index on every node",
                            "Use DROP INDEX without CONCURRENTLY.");
                }
                return relationList(i + 1);
            }
            case "table", "sequence", "view" -> {
                return relationList(i + 1);
            }
            case "materialized", "foreign" -> {
                return relationList(i + 2);
            }
            case "trigger", "rule", "policy" -> {
                // DROP {TRIGGER | RULE | POLICY} [IF EXISTS] name ON table: local when the table is
                return onRelation(firstWordAtDepth0(i + 1, "on"));
            }
            case "extension" -> {
                for (int k = i + 1; k < t.size(); k++) {
                    if (isName(k) && t.get(k).name(s).equals("multimaster")) {
                        return Replication.refused("[multimaster] DROP EXTENSION multimaster is not supported through "
                                        + "the gateway: the cluster's catalog belongs to the mtm node beside PostgreSQL",
                                "Remove a node from the cluster with mtm.drop_node(node_id) or the console command "
                                        + "mtm:drop-node.");
                    }
                }
                return Replication.GLOBAL;
            }
            default -> {
                return Replication.GLOBAL;
            }
        }
    }

    /** {@code [IF EXISTS] name [, name ...] [CASCADE | RESTRICT]}. */
    private Replication relationList(int i) {
        if (word(i, "if") && word(i + 1, "exists")) {
            i += 2;
        }
        List<String> names = new ArrayList<>(2);
        int first = i;
        while (true) {
            int end = qualifiedNameEnd(i);
            if (end < 0) {
                return Replication.global(names);
            }
            names.add(qualifiedName(i, end));
            if (end < t.size() && t.get(end).isOp(s, ',')) {
                i = end + 1;
            } else if (names.size() > 1) {
                // the other nodes run it without the node-local relations among them (DdlMessages)
                return Replication.dropping(names, s.subSequence(textStart(), t.get(first).start()).toString(),
                        s.subSequence(t.get(end - 1).end(), textEnd()).toString());
            } else {
                return Replication.global(names);
            }
        }
    }

    // ------------------------------------------------------------------ COMMENT, GRANT/REVOKE, EXPLAIN

    private Replication comment(int i) {
        if (!word(i, "on") || !isWord(i + 1)) {
            return Replication.GLOBAL;
        }
        int j = i + 1;
        switch (t.get(j).name(s)) {
            case "table", "index", "sequence", "view" -> {
                return onRelation(j + 1);
            }
            case "materialized", "foreign" -> {
                return onRelation(j + 2);
            }
            case "column" -> {
                int end = qualifiedNameEnd(j + 1);
                if (end < 0 || end - (j + 1) < 3) {
                    return Replication.GLOBAL;
                }
                return Replication.global(List.of(qualifiedName(j + 1, end - 2))); // relation.column
            }
            case "constraint", "trigger", "policy", "rule" -> {
                return onRelation(firstWordAtDepth0(j + 2, "on"));
            }
            case "database" -> {
                return database(j + 1);
            }
            case "subscription" -> {
                return Replication.LOCAL; // subscriptions are local (CREATE/ALTER/DROP SUBSCRIPTION)
            }
            default -> {
                return Replication.GLOBAL;
            }
        }
    }

    private Replication grant(int i) {
        int on = -1;
        int depth = 0;
        for (int k = i; k < t.size(); k++) {
            SqlToken tok = t.get(k);
            if (tok.type() == Type.LPAREN) {
                depth++;
            } else if (tok.type() == Type.RPAREN) {
                depth--;
            } else if (depth == 0 && (tok.isWord(s, "to") || tok.isWord(s, "from"))) {
                break; // a role grant: GRANT role TO user
            } else if (depth == 0 && tok.isWord(s, "on")) {
                on = k;
                break;
            }
        }
        if (on < 0 || !isName(on + 1)) {
            return Replication.GLOBAL;
        }
        String what = t.get(on + 1).type() == Type.WORD ? t.get(on + 1).name(s) : "";
        return switch (what) {
            case "table", "sequence" -> relationList(on + 2);
            case "database" -> word(on + 3, "to") || word(on + 3, "from") ? database(on + 2) : Replication.GLOBAL;
            case "all", "schema", "function", "procedure", "routine", "language", "large", "tablespace",
                 "type", "domain", "foreign", "parameter" -> Replication.GLOBAL;
            default -> relationList(on + 1);
        };
    }

    private Replication explain(int i) {
        boolean analyze = false;
        if (i < t.size() && t.get(i).type() == Type.LPAREN) {
            int k = i + 1;
            for (; k < t.size() && t.get(k).type() != Type.RPAREN; k++) {
                if (word(k, "analyze") || word(k, "analyse")) {
                    analyze = !(word(k + 1, "false") || word(k + 1, "off")
                            || (k + 1 < t.size() && t.get(k + 1).type() == Type.NUMBER
                                && t.get(k + 1).text(s).equals("0")));
                }
            }
            i = k + 1;
        } else {
            while (word(i, "analyze") || word(i, "analyse") || word(i, "verbose")) {
                analyze |= !word(i, "verbose");
                i++;
            }
        }
        if (!analyze) {
            return Replication.NO_WRITE;
        }
        Replication inner = statement(i);
        Replication.Reach r = inner.reach();
        return r == Replication.Reach.GLOBAL_DDL || r == Replication.Reach.TEMPORARY || r == Replication.Reach.LOCAL
                || r == Replication.Reach.REFUSED ? inner : Replication.ROWS;
    }

    // ------------------------------------------------------------------ SELECT INTO

    /** Index of the top-level INTO of a query (not INSERT INTO / MERGE INTO), or -1. */
    private int topLevelInto(int from) {
        int depth = 0;
        for (int k = from; k < t.size(); k++) {
            SqlToken tok = t.get(k);
            if (tok.type() == Type.LPAREN) {
                depth++;
            } else if (tok.type() == Type.RPAREN) {
                depth--;
            } else if (depth == 0 && tok.isWord(s, "into") && !(word(k - 1, "insert") || word(k - 1, "merge"))) {
                return k;
            }
        }
        return -1;
    }

    /** {@code INTO [TEMPORARY | TEMP | LOCAL TEMP | GLOBAL TEMP | UNLOGGED] [TABLE] name}. */
    private Replication intoTarget(int i) {
        if (word(i, "temp") || word(i, "temporary")
                || ((word(i, "local") || word(i, "global")) && (word(i + 1, "temp") || word(i + 1, "temporary")))) {
            return Replication.TEMPORARY;
        }
        if (word(i, "unlogged")) {
            i++; // on every node, like CREATE UNLOGGED TABLE ... AS
        }
        if (word(i, "table")) {
            i++;
        }
        if (inTempSchema(i)) {
            return Replication.TEMPORARY;
        }
        int end = qualifiedNameEnd(i);
        return end < 0 ? Replication.GLOBAL : Replication.creating(qualifiedName(i, end));
    }

    // ------------------------------------------------------------------ helpers

    /**
     * The relation named at token {@code i} (after a leading ON or TO, and ONLY): global DDL, local after all
     * if the catalog says the relation is temporary (or a stand-in of one). {@code i < 0}: no name found, global.
     */
    private Replication onRelation(int i) {
        if (i < 0) {
            return Replication.GLOBAL;
        }
        if (word(i, "on") || word(i, "to")) {
            i++;
        }
        if (word(i, "only")) {
            i++;
        }
        int end = qualifiedNameEnd(i);
        return end < 0 ? Replication.GLOBAL : Replication.global(List.of(qualifiedName(i, end)));
    }

    /**
     * The {@code LIKE source [INCLUDING|EXCLUDING option ...]} elements of the column list that follows token
     * {@code from} (depth 1), null when there are none.
     */
    private LikeElements likeElements(int from) {
        List<String> sources = new ArrayList<>(1);
        List<String> elements = new ArrayList<>(1);
        List<String> including = new ArrayList<>(1);
        List<String> between = new ArrayList<>(2);
        int depth = 0;
        int cut = textStart(); // where the text after the last element found starts
        for (int k = from; k < t.size(); k++) {
            SqlToken tok = t.get(k);
            if (tok.type() == Type.LPAREN) {
                depth++;
            } else if (tok.type() == Type.RPAREN) {
                if (--depth == 0) {
                    break;
                }
            } else if (depth == 1 && tok.isWord(s, "like") && (t.get(k - 1).type() == Type.LPAREN || t.get(k - 1).isOp(s, ','))) {
                int end = qualifiedNameEnd(k + 1);
                if (end < 0) {
                    continue;
                }
                // the options up to the element's end: the , or ) at depth 1
                Set<String> on = new HashSet<>();
                int e = end;
                while (e + 1 < t.size() && (t.get(e).isWord(s, "including") || t.get(e).isWord(s, "excluding"))
                        && t.get(e + 1).type() == Type.WORD) {
                    String option = t.get(e + 1).name(s);
                    List<String> options = option.equals("all") ? LikeElements.OPTIONS : List.of(option);
                    if (t.get(e).isWord(s, "including")) {
                        on.addAll(options);
                    } else {
                        options.forEach(on::remove);
                    }
                    e += 2;
                }
                if (e >= t.size() || !(t.get(e).type() == Type.RPAREN || t.get(e).isOp(s, ','))) {
                    continue; // not an element the gateway reads: PostgreSQL answers it
                }
                int start = t.get(k - 1).end();
                sources.add(qualifiedName(k + 1, end));
                between.add(s.subSequence(cut, start).toString());
                elements.add(s.subSequence(start, t.get(e).start()).toString());
                including.add(String.join(" ", LikeElements.OPTIONS.stream().filter(on::contains).toList()));
                cut = t.get(e).start();
                k = e - 1;
            }
        }
        if (sources.isEmpty()) {
            return null;
        }
        between.add(s.subSequence(cut, textEnd()).toString());
        return new LikeElements(sources, elements, including, between);
    }

    /**
     * Where the statement's own text starts in {@code s}, which may hold the other statements of a simple-protocol
     * query: its first token (text cut from it is sent to the other nodes, which must not run the others again).
     */
    private int textStart() {
        return t.get(0).start();
    }

    /** Where the statement's own text ends in {@code s}: its last token but a semicolon (as {@link #textStart}). */
    private int textEnd() {
        int last = t.size() - 1;
        while (last > 0 && t.get(last).type() == Type.SEMI) {
            last--;
        }
        return t.get(last).end();
    }

    /**
     * The database named at token {@code i}: global if it is the session's (its settings, owner, ACL and comment are
     * shared catalog rows every node has), local if it is another — a database CREATE DATABASE made on one node.
     */
    private Replication database(int i) {
        return isName(i) ? Replication.onDatabase(t.get(i).name(s)) : Replication.GLOBAL;
    }

    private static Replication tablespace(String statement) {
        return Replication.refused("[multimaster] " + statement + " is not supported: a tablespace is a directory of "
                        + "one server, and the statement cannot run inside the cluster's distributed transaction",
                "Run it on each node directly in PostgreSQL, or through the gateway in a session with "
                        + "application_name 'mtm_admin' (which runs it on that node only).");
    }

    /** Global DDL must not carry extended-protocol parameters: the other nodes run its text without them. */
    private Replication withoutParameters(Replication r) {
        if (r.reach() != Replication.Reach.GLOBAL_DDL) {
            return r;
        }
        for (SqlToken tok : t) {
            if (tok.type() == Type.PARAM) {
                return Replication.refused("[multimaster] a DDL statement with parameters (" + tok.text(s) + ") cannot be "
                        + "replicated: the other nodes run the statement's text, which does not contain the values",
                        "Write the values into the statement.");
            }
        }
        return r;
    }

    private int skipIfNotExists(int i) {
        return word(i, "if") && word(i + 1, "not") && word(i + 2, "exists") ? i + 3 : i;
    }

    /** {@code pg_temp.x} (or {@code pg_temp_N.x}): an object of this session's temporary schema. */
    private boolean inTempSchema(int i) {
        if (!isName(i) || i + 1 >= t.size() || !t.get(i + 1).isOp(s, '.')) {
            return false;
        }
        String schema = t.get(i).name(s);
        return schema.equals("pg_temp") || schema.startsWith("pg_temp_");
    }

    private int firstWordAtDepth0(int from, String w) {
        int depth = 0;
        for (int k = from; k < t.size(); k++) {
            SqlToken tok = t.get(k);
            if (tok.type() == Type.LPAREN) {
                depth++;
            } else if (tok.type() == Type.RPAREN) {
                depth--;
            } else if (depth == 0 && tok.isWord(s, w)) {
                return k;
            }
        }
        return -1;
    }

    /** End (exclusive token index) of a qualified name {@code a[.b[.c]]} starting at {@code i}, or -1. */
    private int qualifiedNameEnd(int i) {
        if (!isName(i)) {
            return -1;
        }
        int k = i + 1;
        while (k + 1 < t.size() && t.get(k).isOp(s, '.') && isName(k + 1)) {
            k += 2;
        }
        return k;
    }

    /** The name's tokens as written, joined by dots: what {@code to_regclass} reads. */
    private String qualifiedName(int from, int end) {
        StringBuilder b = new StringBuilder();
        for (int k = from; k < end; k++) {
            b.append(t.get(k).text(s));
        }
        return b.toString();
    }

    private boolean isName(int i) {
        return i >= 0 && i < t.size() && (t.get(i).type() == Type.WORD || t.get(i).type() == Type.IDENT);
    }

    private boolean isWord(int i) {
        return i >= 0 && i < t.size() && t.get(i).type() == Type.WORD;
    }

    private boolean word(int i, String w) {
        return i >= 0 && i < t.size() && t.get(i).isWord(s, w);
    }
}
