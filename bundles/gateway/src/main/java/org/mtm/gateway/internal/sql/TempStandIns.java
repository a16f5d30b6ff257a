package org.mtm.gateway.internal.sql;

import java.util.List;
import java.util.Map;

import org.mtm.gateway.internal.sql.SqlToken.Type;

/**
 * Node-local stand-ins for a session's temporary tables (issue 12, DESIGN §2 hard points). PostgreSQL refuses
 * PREPARE TRANSACTION for a transaction that touched a temporary table, and the cluster commits every replicated
 * write through PREPARE. So in an initialised cluster the gateway creates the session's temporary tables as
 * <em>unlogged</em> tables in a schema of the session's own, {@code mtm_temp_<backend pid>_<random>}:
 * unlogged tables are neither WAL-decoded nor published, so nothing of them reaches the other nodes, and PREPARE
 * accepts them. The schema is appended to the session's {@code search_path} (after the client's schemas, so that
 * unqualified CREATE statements still create where they did); ON COMMIT DROP / DELETE ROWS are carried out by the
 * gateway before each commit; the schema is dropped when the session ends, and the gateway sweeps away the
 * schemas of backends that no longer exist (after a gateway or node crash) when it starts and periodically.
 * Pure: statement rewriting and the SQL the gateway runs.
 */
public final class TempStandIns {
    /** Prefix of the stand-in schemas (reserved: the sweep drops such schemas of backends that are gone). */
    public static final String SCHEMA_PREFIX = "mtm_temp_";

    /** The session's stand-in schema: its backend's pid (for the sweep) and a random part (pids are reused). */
    public static String schemaName(int backendPid, long random) {
        return SCHEMA_PREFIX + backendPid + "_" + Long.toHexString(random & 0xffffffffL);
    }

    /**
     * Drops the stand-in schemas of backends that are gone: a gateway session's schema outlives its backend only
     * when the gateway or the node crashed (the unlogged tables of a crashed server come back empty). Run on a
     * connection of its own; a schema still locked (a prepared transaction holds it) is left for the next sweep.
     * Housekeeping of the cluster's own: as replica, so that users' event triggers (a DDL audit log) do not fire.
     * Then the roles of those schemas (through which the session's roles used them, see mtm.stand_in_schema).
     */
    public static final String SWEEP_SQL = "DO $mtm$DECLARE s record; BEGIN "
            + "PERFORM pg_catalog.set_config('lock_timeout', '1s', true); "
            + "PERFORM pg_catalog.set_config('mtm.ddl_internal', 'on', true); "
            + "BEGIN PERFORM pg_catalog.set_config('session_replication_role', 'replica', true); "
            + "EXCEPTION WHEN insufficient_privilege THEN NULL; END; "
            + "FOR s IN SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname ~ '^mtm_temp_[0-9]+_[0-9a-f]+$' "
            + "AND pg_catalog.split_part(n.nspname, '_', 3)::pg_catalog.int4 NOT IN "
            + "(SELECT a.pid FROM pg_catalog.pg_stat_activity a) LOOP "
            + "BEGIN EXECUTE pg_catalog.format('DROP SCHEMA %I CASCADE', s.nspname); "
            + "EXCEPTION WHEN lock_not_available OR undefined_object OR invalid_schema_name THEN NULL; END; "
            + "END LOOP; "
            // the schemas' roles (mtm.stand_in_schema): one still used in another database is left (2BP01)
            + "FOR s IN SELECT r.rolname AS nspname FROM pg_catalog.pg_roles r WHERE r.rolname ~ '^mtm_temp_[0-9]+_[0-9a-f]+$' "
            + "AND NOT r.rolcanlogin AND pg_catalog.split_part(r.rolname, '_', 3)::pg_catalog.int4 NOT IN "
            + "(SELECT a.pid FROM pg_catalog.pg_stat_activity a) "
            + "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = r.rolname) LOOP "
            + "BEGIN EXECUTE pg_catalog.format('DROP ROLE %I', s.nspname); "
            + "EXCEPTION WHEN lock_not_available OR undefined_object OR dependent_objects_still_exist "
            + "OR insufficient_privilege THEN NULL; END; "
            + "END LOOP; END$mtm$";

    /** What PostgreSQL does with a temporary table at the end of each transaction. */
    public enum OnCommit { PRESERVE_ROWS, DELETE_ROWS, DROP }

    /**
     * A CREATE TEMP TABLE rewritten for its stand-in.
     *
     * @param text     the statement to run instead
     * @param name     the table's name as the client wrote it (without pg_temp)
     * @param resolved that name as PostgreSQL resolves it (case folded, quotes removed)
     * @param table    the stand-in, qualified ({@code "schema".name})
     * @param onCommit the statement's ON COMMIT clause (removed from {@code text}: unlogged tables have none)
     * @param edits    how {@code text} was made from the client's (its error positions taken back)
     * @param qualified the client wrote the name qualified ({@code pg_temp.name})
     */
    public record Rewrite(String text, String name, String resolved, String table, OnCommit onCommit, boolean view,
                          TextEdits edits, boolean qualified) { }

    private TempStandIns() {
    }

    /**
     * Whether {@code statement} creates a temporary table, sequence or view the gateway can make a stand-in for:
     * {@code CREATE [GLOBAL | LOCAL] {TEMP | TEMPORARY} {TABLE | SEQUENCE} [IF NOT EXISTS] [pg_temp.]name ...}
     * (column list, {@code AS query}, {@code PARTITION OF}, {@code OF type}; sequence options) or {@code CREATE [OR
     * REPLACE] TEMP [RECURSIVE] VIEW [pg_temp.]name ...}: an unlogged table or sequence, or a view, in the session's
     * schema. Temporary functions and types stay PostgreSQL's own.
     */
    public static boolean creates(CharSequence statement, boolean standardStrings) {
        return rewrite(statement, standardStrings, "x") != null;
    }

    /** The rewrite of {@link #creates} for the stand-in schema {@code schema}, or null. */
    public static Rewrite rewrite(CharSequence s, boolean standardStrings, String schema) {
        List<SqlToken> t = SqlSplitter.tokens(s, 0, s.length(), standardStrings);
        int i = 0;
        if (!word(s, t, i++, "create")) {
            return null;
        }
        boolean orReplace = word(s, t, i, "or") && word(s, t, i + 1, "replace");
        i += orReplace ? 2 : 0;
        if (word(s, t, i, "global") || word(s, t, i, "local")) {
            i++;
        }
        // without TEMP: CREATE TABLE/SEQUENCE/VIEW pg_temp.name, which PostgreSQL makes temporary too
        boolean temp = word(s, t, i, "temp") || word(s, t, i, "temporary");
        i += temp ? 1 : 0;
        boolean recursive = word(s, t, i, "recursive");
        i += recursive ? 1 : 0;
        boolean sequence = word(s, t, i, "sequence");
        boolean view = word(s, t, i, "view");
        if (!(word(s, t, i, "table") && !orReplace && !recursive) && !(sequence && !orReplace && !recursive) && !view) {
            return null;
        }
        int tableWord = i++;
        if (word(s, t, i, "if") && word(s, t, i + 1, "not") && word(s, t, i + 2, "exists")) {
            i += 3;
        }
        if (!name(t, i)) {
            return null;
        }
        int nameStart = i;
        boolean qualified = i + 2 < t.size() && t.get(i + 1).isOp(s, '.');
        if (qualified) {
            // pg_temp, or the stand-in schema itself (a pg_temp.name the gateway qualified, see qualify)
            String given = t.get(i).name(s);
            if (!(given.equals("pg_temp") || given.equals(schema)) || !name(t, i + 2)) {
                return null; // another schema: PostgreSQL's own error
            }
            i += 2;
        }
        if (!temp && !qualified) {
            return null;
        }
        int nameToken = i;
        // ON COMMIT ... at the top level, before AS query
        OnCommit onCommit = OnCommit.PRESERVE_ROWS;
        int onFrom = -1;
        int onTo = -1;
        int depth = 0;
        for (int k = nameToken + 1; k < t.size() && !sequence && !view; k++) {
            SqlToken tok = t.get(k);
            if (tok.type() == Type.LPAREN) {
                depth++;
            } else if (tok.type() == Type.RPAREN) {
                depth--;
            } else if (depth == 0 && tok.isWord(s, "as")) {
                break;
            } else if (depth == 0 && tok.isWord(s, "on") && word(s, t, k + 1, "commit")) {
                if (word(s, t, k + 2, "drop")) {
                    onCommit = OnCommit.DROP;
                    onTo = k + 3;
                } else if (word(s, t, k + 2, "delete") && word(s, t, k + 3, "rows")) {
                    onCommit = OnCommit.DELETE_ROWS;
                    onTo = k + 4;
                } else if (word(s, t, k + 2, "preserve") && word(s, t, k + 3, "rows")) {
                    onTo = k + 4;
                } else {
                    return null; // PostgreSQL's syntax error
                }
                onFrom = k;
                break;
            }
        }
        String table = quote(schema) + "." + t.get(nameToken).text(s);
        TextEdits edits = new TextEdits(s).replace(t.get(0).start(), t.get(tableWord).end(), sequence ? "CREATE UNLOGGED SEQUENCE"
                : view ? "CREATE " + (orReplace ? "OR REPLACE " : "") + (recursive ? "RECURSIVE " : "") + "VIEW"
                : "CREATE UNLOGGED TABLE");
        edits.replace(t.get(nameStart).start(), t.get(nameToken).end(), table);
        if (onFrom >= 0) {
            edits.replace(t.get(onFrom).start(), t.get(onTo - 1).end(), "");
        }
        return new Rewrite(edits.apply(), t.get(nameToken).text(s), t.get(nameToken).name(s), table, onCommit, view, edits,
                qualified);
    }

    /**
     * Run before stand-in {@code name} is created, in the same transaction: the schema (by mtm.stand_in_schema, which
     * needs the TEMPORARY privilege on the database as PostgreSQL does, not CREATE), and the schema at the end
     * of search_path (a session setting: undone with the transaction, like the schema). The event trigger of the mtm
     * schema lets the gateway's own DDL through ({@code mtm.ddl_internal}). A stand-in does not hide a table of the
     * same name earlier in search_path as a temporary table would: such a name is refused (0A000) rather than let
     * the session's statements reach the other table.
     */
    public static String preludeSql(String schema, String name) {
        return preludeSql(schema, name, false);
    }

    /**
     * {@link #preludeSql(String, String)}; with {@code keepInternal} the gateway's DDL marker stays on for the
     * statement that follows (a view: no unlogged relation, so the mtm event trigger would refuse it as DDL the
     * gateway did not announce), until {@link #END_SQL}.
     */
    public static String preludeSql(String schema, String name, boolean keepInternal) {
        String q = quote(schema);
        String lit = "'" + q.replace("'", "''") + "'";
        String nameLit = "'" + name.replace("'", "''") + "'";
        return "DO $mtm$BEGIN "
                + "IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE c.oid = pg_catalog.to_regclass(" + nameLit + ") AND n.nspname <> '" + schema.replace("'", "''")
                + "') THEN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', MESSAGE = pg_catalog.format("
                + "'[multimaster] temporary table %s would not hide relation %s: the cluster keeps temporary tables as "
                + "node-local tables at the end of search_path', " + nameLit + ", pg_catalog.to_regclass(" + nameLit
                + ")::pg_catalog.text), HINT = 'Give the temporary table a name no other table on search_path has.'; "
                + "END IF; "
                + "PERFORM pg_catalog.set_config('mtm.ddl_internal', 'on', true); "
                + "PERFORM mtm.stand_in_schema('" + schema.replace("'", "''") + "', current_user); "
                + "IF pg_catalog.strpos(pg_catalog.current_setting('search_path'), " + lit + ") = 0 THEN "
                + "PERFORM pg_catalog.set_config('search_path', " + pathWith(lit) + ", false); END IF; "
                + (keepInternal ? "" : "PERFORM pg_catalog.set_config('mtm.ddl_internal', '', true); ") + "END$mtm$";
    }

    /**
     * Whether the object must be PostgreSQL's own temporary one: a relation {@code name} is visible on search_path
     * outside the stand-in schema (a temporary table of that name must hide it, which a stand-in at the end of
     * search_path cannot), or it is a view and the session has PostgreSQL temporary objects (the view may read
     * them, and PostgreSQL refuses a view over a temporary object outside the temporary schema).
     */
    public static String nativeSql(String schema, String name, boolean view) {
        String nameLit = "'" + name.replace("'", "''") + "'";
        return "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE c.oid = pg_catalog.to_regclass(" + nameLit + ") AND n.nspname <> '" + schema.replace("'", "''") + "')"
                + (view ? " OR pg_catalog.pg_my_temp_schema() <> 0" : "");
    }

    /** After a stand-in view: the gateway's DDL marker off again. */
    public static final String END_SQL = "SELECT pg_catalog.set_config('mtm.ddl_internal', '', true)";

    /**
     * The ON COMMIT actions, run just before the transaction commits, as PostgreSQL's: DROP ... CASCADE each
     * stand-in that still exists (the client may have dropped or renamed it), and TRUNCATE ONLY those with DELETE
     * ROWS that have storage (not a partitioned table: its partitions have their own setting), in one statement (one
     * may reference another by a foreign key).
     */
    public static String onCommitSql(Map<String, OnCommit> tables) {
        StringBuilder drops = new StringBuilder();
        StringBuilder truncates = new StringBuilder();
        tables.forEach((table, action) -> {
            String lit = "'" + table.replace("'", "''") + "'";
            if (action == OnCommit.DROP) {
                drops.append("IF pg_catalog.to_regclass(").append(lit).append(") IS NOT NULL THEN EXECUTE 'DROP TABLE ' || ")
                        .append(lit).append(" || ' CASCADE'; END IF; ");
            } else if (action == OnCommit.DELETE_ROWS) {
                truncates.append(truncates.length() == 0 ? "" : ", ").append(lit);
            }
        });
        StringBuilder b = new StringBuilder("DO $mtm$DECLARE t text; o pg_catalog.oid[]; fr name; rr name; BEGIN "
                + "PERFORM pg_catalog.set_config('mtm.ddl_internal', 'on', true); ");
        if (truncates.length() > 0) {
            // PostgreSQL's own check and error: a table that keeps its rows must not reference one that loses them
            b.append("SELECT pg_catalog.array_agg(c.oid) INTO o FROM pg_catalog.unnest(ARRAY[").append(truncates)
                    .append("]::pg_catalog.text[]) AS n JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(n) ")
                    .append("WHERE c.relkind <> 'p'; ")
                    .append("SELECT f.relname, r.relname INTO fr, rr FROM pg_catalog.pg_constraint k ")
                    .append("JOIN pg_catalog.pg_class f ON f.oid = k.conrelid JOIN pg_catalog.pg_class r ON r.oid = k.confrelid ")
                    .append("WHERE k.contype = 'f' AND k.confrelid = ANY (o) AND NOT k.conrelid = ANY (o) LIMIT 1; ")
                    .append("IF fr IS NOT NULL THEN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', ")
                    .append("MESSAGE = 'unsupported ON COMMIT and foreign key combination', DETAIL = pg_catalog.format(")
                    .append("'Table \"%s\" references \"%s\", but they do not have the same ON COMMIT setting.', fr, rr); END IF; ")
                    .append("SELECT pg_catalog.string_agg(c.oid::pg_catalog.regclass::pg_catalog.text, ', ') INTO t ")
                    .append("FROM pg_catalog.pg_class c WHERE c.oid = ANY (o); ")
                    .append("IF t IS NOT NULL THEN EXECUTE 'TRUNCATE ONLY ' || t; END IF; ");
        }
        return b.append(drops).append("PERFORM pg_catalog.set_config('mtm.ddl_internal', '', true); END$mtm$").toString();
    }

    /**
     * Whether the transaction touched a stand-in (a lock on a relation of a stand-in schema): a user's PREPARE
     * TRANSACTION of it is refused as PostgreSQL refuses one that touched temporary objects.
     */
    public static final String TOUCHED_SQL = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l "
            + "JOIN pg_catalog.pg_class c ON c.oid = l.relation WHERE l.locktype = 'relation' "
            + "AND l.pid = pg_catalog.pg_backend_pid() AND pg_catalog.starts_with("
            + "c.relnamespace::pg_catalog.regnamespace::pg_catalog.text, '" + SCHEMA_PREFIX + "'))";

    /**
     * DISCARD TEMP / DISCARD ALL: the stand-ins go with PostgreSQL's temporary objects. The schema is the cluster
     * user's: dropped by mtm.drop_stand_in_schema (by the session itself with a catalog older than that function).
     */
    public static String discardSql(String schema) {
        String lit = "'" + schema.replace("'", "''") + "'";
        return "DO $mtm$BEGIN PERFORM pg_catalog.set_config('mtm.ddl_internal', 'on', true); "
                + "IF pg_catalog.to_regprocedure('mtm.drop_stand_in_schema(text)') IS NOT NULL THEN "
                + "PERFORM mtm.drop_stand_in_schema(" + lit + "); ELSE DROP SCHEMA IF EXISTS " + quote(schema)
                + " CASCADE; END IF; PERFORM pg_catalog.set_config('mtm.ddl_internal', '', true); END$mtm$";
    }

    /**
     * After a statement that set search_path (SET, SET LOCAL, RESET, RESET ALL): the stand-in schema goes back at
     * its end, for the same scope ({@code local}: this transaction only).
     */
    public static String searchPathSql(String schema, boolean local) {
        String lit = "'" + quote(schema).replace("'", "''") + "'";
        return "SELECT CASE WHEN pg_catalog.strpos(pg_catalog.current_setting('search_path'), " + lit + ") = 0 THEN "
                + "pg_catalog.set_config('search_path', " + pathWith(lit) + ", " + local + ") END";
    }

    /**
     * The session's search_path with the stand-in schema (the SQL literal {@code lit}) put where PostgreSQL would
     * search its temporary schema: right after an explicit {@code pg_temp} (as in {@code SET search_path = pg_temp,
     * public}), else at the end — not first, where unqualified CREATE statements would create their objects in it.
     */
    static String pathWith(String lit) {
        String path = "pg_catalog.current_setting('search_path')";
        return "CASE WHEN " + path + " ~ E'(^|, )\"?pg_temp\"?(,|$)' THEN pg_catalog.regexp_replace(" + path
                + ", E'(^|, )(\"?pg_temp\"?)(,|$)', E'\\\\1\\\\2, ' || " + lit + " || E'\\\\3') ELSE " + path
                + " || ', ' || " + lit + " END";
    }

    /**
     * A statement of a session with stand-ins that names one of them {@code pg_temp.name}: the same statement with
     * the stand-in schema for {@code pg_temp} there (the stand-in is not in PostgreSQL's temporary schema), or null
     * when nothing changes. Only names of the session's stand-ins ({@code standIns}, as resolved), so that
     * PostgreSQL's own temporary functions, types and tables keep their {@code pg_temp}; not the name a CREATE of a
     * stand-in creates ({@link #rewrite} takes {@code pg_temp} there).
     */
    public static String qualify(CharSequence s, boolean standardStrings, String schema, java.util.Set<String> standIns) {
        TextEdits edits = qualifyEdits(s, standardStrings, schema, standIns);
        return edits == null ? null : edits.apply();
    }

    /**
     * The edits of {@link #qualify}, or null when nothing changes. Also {@code [pg_catalog.]pg_my_temp_schema()}
     * becomes the stand-in schema's oid: the session's temporary objects are there (PostgreSQL's temporary schema has
     * none of them), so that a catalog query such as {@code WHERE schemaname = pg_my_temp_schema()::regnamespace::text}
     * finds them.
     */
    public static TextEdits qualifyEdits(CharSequence s, boolean standardStrings, String schema, java.util.Set<String> standIns) {
        boolean names = !standIns.isEmpty() && SqlSplitter.containsIgnoreCase(s, "pg_temp");
        if (!names && !SqlSplitter.containsIgnoreCase(s, MY_TEMP_SCHEMA)) {
            return null;
        }
        List<SqlToken> t = SqlSplitter.tokens(s, 0, s.length(), standardStrings);
        // a CREATE of a stand-in named pg_temp.name: that name, the statement's first qualified one, is rewrite's
        Rewrite create = names ? rewrite(s, standardStrings, schema) : null;
        boolean created = create != null && create.qualified();
        TextEdits b = null;
        for (int k = 0; k < t.size(); k++) {
            SqlToken tok = t.get(k);
            int call = myTempSchemaCall(s, t, k);
            if (call > k) {
                int from = k >= 2 && t.get(k - 1).isOp(s, '.') ? t.get(k - 2).start() : tok.start();
                b = b == null ? new TextEdits(s) : b;
                b.replace(from, t.get(call).end(), "('" + quote(schema).replace("'", "''")
                    + "'::pg_catalog.regnamespace::pg_catalog.oid)");
                k = call;
                continue;
            }
            if (!names) {
                continue;
            }
            int from = -1; // where "pg_temp" is to be replaced
            String schemaText = null;
            if (k + 2 < t.size() && name(t, k) && tok.name(s).equals("pg_temp") && t.get(k + 1).isOp(s, '.')
                    && name(t, k + 2) && !(k > 0 && t.get(k - 1).isOp(s, '.'))) {
                if (created) {
                    created = false; // the CREATE's own name: the first qualified name of the statement
                    continue;
                }
                if (standIns.contains(t.get(k + 2).name(s))) {
                    from = tok.start();
                    schemaText = quote(schema);
                }
            } else if (tok.type() == Type.STRING && tok.prefix() == 0 && tok.end() - tok.start() > 10
                    && regclassArgument(s, t, k)) {
                // 'pg_temp.name' as a relation's name in a string: nextval('pg_temp.s'), 'pg_temp.t'::regclass, ...
                String inner = s.subSequence(tok.start() + 1, tok.end() - 1).toString();
                if (inner.indexOf('.') == 7 && inner.regionMatches(true, 0, "pg_temp", 0, 7) && inner.indexOf('\'') < 0
                        && standIns.contains(resolve(inner.substring(8)))) {
                    from = tok.start() + 1;
                    schemaText = quote(schema).replace("'", "''");
                }
            }
            if (from >= 0) {
                b = b == null ? new TextEdits(s) : b;
                b.replace(from, from + "pg_temp".length(), schemaText);
            }
        }
        return b;
    }

    private static final String MY_TEMP_SCHEMA = "pg_my_temp_schema";

    /**
     * The index of the closing parenthesis when {@code t[k]} starts a call {@code pg_my_temp_schema()} of PostgreSQL's
     * function (unqualified or {@code pg_catalog.}), else -1.
     */
    private static int myTempSchemaCall(CharSequence s, List<SqlToken> t, int k) {
        if (k + 2 >= t.size() || !name(t, k) || !t.get(k).name(s).equals(MY_TEMP_SCHEMA)
                || t.get(k + 1).type() != Type.LPAREN || t.get(k + 2).type() != Type.RPAREN) {
            return -1;
        }
        if (k > 0 && t.get(k - 1).isOp(s, '.')) {
            // pg_catalog.pg_my_temp_schema(): PostgreSQL's; another schema's function of that name is left alone
            if (k < 2 || !name(t, k - 2) || !t.get(k - 2).name(s).equals("pg_catalog")
                    || (k > 2 && t.get(k - 3).isOp(s, '.'))) {
                return -1;
            }
        }
        return k + 2;
    }

    /**
     * A CREATE VIEW (not temporary) whose query names stand-ins of the session: PostgreSQL makes a view over a
     * temporary table temporary, with a NOTICE.
     *
     * @param text    the statement with TEMP, for {@link #rewrite} (a view in another schema: PostgreSQL's error)
     * @param name    the view's name as PostgreSQL prints it in the NOTICE
     * @param matched names of the query that are names of the session's stand-ins (as resolved)
     * @param edits   how {@code text} was made from the client's
     */
    public record ImplicitView(String text, String name, List<String> matched, TextEdits edits) { }

    /**
     * {@code CREATE [OR REPLACE] [RECURSIVE] VIEW name ... AS query} whose query names one of {@code standIns}, or
     * null. Whether those names are the stand-ins there (and not other relations earlier on search_path, or
     * columns) is the catalog's to say: {@link #readsStandInSql}.
     */
    public static ImplicitView implicitlyTemporary(CharSequence s, boolean standardStrings, java.util.Set<String> standIns) {
        if (standIns.isEmpty()) {
            return null;
        }
        List<SqlToken> t = SqlSplitter.tokens(s, 0, s.length(), standardStrings);
        int i = 0;
        if (!word(s, t, i++, "create")) {
            return null;
        }
        if (word(s, t, i, "or") && word(s, t, i + 1, "replace")) {
            i += 2;
        }
        int insertAt = i;
        if (word(s, t, i, "recursive")) {
            i++;
        }
        if (!word(s, t, i++, "view") || !name(t, i)) {
            return null;
        }
        int nameToken = i + 2 < t.size() && t.get(i + 1).isOp(s, '.') && name(t, i + 2) ? i + 2 : i;
        int depth = 0;
        int as = -1;
        for (int k = nameToken + 1; k < t.size(); k++) {
            if (t.get(k).type() == Type.LPAREN) {
                depth++;
            } else if (t.get(k).type() == Type.RPAREN) {
                depth--;
            } else if (depth == 0 && t.get(k).isWord(s, "as")) {
                as = k;
                break;
            }
        }
        List<String> matched = new java.util.ArrayList<>();
        for (int k = as < 0 ? t.size() : as + 1; k < t.size(); k++) {
            if (name(t, k) && standIns.contains(t.get(k).name(s)) && !matched.contains(t.get(k).name(s))
                    && fromItem(s, t, k)) {
                matched.add(t.get(k).name(s));
            }
        }
        if (matched.isEmpty()) {
            return null;
        }
        TextEdits edits = new TextEdits(s).replace(t.get(insertAt).start(), t.get(insertAt).start(), "TEMP ");
        return new ImplicitView(edits.apply(), t.get(nameToken).name(s), matched, edits);
    }

    /** Clauses that end a FROM list. */
    private static final java.util.Set<String> CLAUSES = java.util.Set.of("select", "where", "group", "having", "window",
            "order", "limit", "offset", "fetch", "for", "union", "intersect", "except", "returning", "set",
            "values", "with", "as");

    /**
     * Whether name token {@code k} stands where a relation does: after FROM, JOIN or ONLY, or after a comma of a
     * FROM list (a column or an alias of the same name is not one; its schema before it, if any, skipped).
     */
    private static boolean fromItem(CharSequence s, List<SqlToken> t, int k) {
        int p = k - 1;
        if (p >= 1 && t.get(p).isOp(s, '.')) {
            p -= 2; // schema.name
        }
        if (p >= 0 && t.get(p).isWord(s, "only")) {
            p--;
        }
        if (p < 0) {
            return false;
        }
        if (t.get(p).isWord(s, "from") || t.get(p).isWord(s, "join")) {
            return true;
        }
        if (t.get(p).type() != Type.OP || !t.get(p).isOp(s, ',')) {
            return false;
        }
        int depth = 0;
        for (int q = p - 1; q >= 0; q--) {
            SqlToken tok = t.get(q);
            if (tok.type() == Type.RPAREN) {
                depth++;
            } else if (tok.type() == Type.LPAREN) {
                if (depth-- == 0) {
                    return false;
                }
            } else if (depth == 0 && tok.type() == Type.WORD) {
                if (tok.isWord(s, "from")) {
                    return true;
                }
                if (CLAUSES.contains(tok.name(s))) {
                    return false;
                }
            }
        }
        return false;
    }

    /** Whether one of {@code names} resolves, on the session's search_path, to a relation of stand-in schema {@code schema}. */
    public static String readsStandInSql(String schema, List<String> names) {
        StringBuilder array = new StringBuilder();
        for (String n : names) {
            array.append(array.length() == 0 ? "" : ", ").append('\'').append(n.replace("'", "''")).append('\'');
        }
        return "SELECT EXISTS (SELECT 1 FROM pg_catalog.unnest(ARRAY[" + array + "]::pg_catalog.text[]) AS m "
                + "JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(pg_catalog.quote_ident(m)) "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '" + schema.replace("'", "''") + "')";
    }

    /** Functions whose argument is a relation's name as text. */
    private static final java.util.Set<String> REGCLASS_FUNCTIONS = java.util.Set.of("nextval", "currval", "setval",
            "to_regclass", "pg_relation_size", "pg_total_relation_size", "pg_table_size");

    /** String {@code k} is cast to regclass or is the first argument of one of {@link #REGCLASS_FUNCTIONS}. */
    private static boolean regclassArgument(CharSequence s, List<SqlToken> t, int k) {
        if (k + 3 < t.size() && t.get(k + 1).isOp(s, ':') && t.get(k + 2).isOp(s, ':') && name(t, k + 3)
                && t.get(k + 3).name(s).equals("regclass")) {
            return true;
        }
        return k >= 2 && t.get(k - 1).type() == Type.LPAREN && name(t, k - 2)
                && REGCLASS_FUNCTIONS.contains(t.get(k - 2).name(s));
    }

    /** An identifier written in a string as PostgreSQL reads it there: quoted as is, else folded to lower case. */
    private static String resolve(String id) {
        if (id.length() >= 2 && id.startsWith("\"") && id.endsWith("\"")) {
            return id.substring(1, id.length() - 1).replace("\"\"", "\"");
        }
        return id.toLowerCase(java.util.Locale.ROOT);
    }

    /** Whether a SET/RESET statement may have changed search_path: 0 no, 1 for the session, 2 SET LOCAL. */
    public static int setsSearchPath(CharSequence s, boolean standardStrings) {
        List<SqlToken> t = SqlSplitter.tokens(s, 0, s.length(), standardStrings);
        int i = 0;
        if (word(s, t, 0, "set")) {
            i = 1;
            boolean local = word(s, t, 1, "local");
            if (local || word(s, t, 1, "session")) {
                i = 2;
            }
            return name(t, i) && t.get(i).name(s).equals("search_path") ? (local ? 2 : 1) : 0;
        }
        if (word(s, t, 0, "reset")) {
            return word(s, t, 1, "all") || (name(t, 1) && t.get(1).name(s).equals("search_path")) ? 1 : 0;
        }
        return 0;
    }

    /** {@code DISCARD TEMP}, {@code DISCARD TEMPORARY} or {@code DISCARD ALL}. */
    public static boolean discards(CharSequence s, boolean standardStrings) {
        List<SqlToken> t = SqlSplitter.tokens(s, 0, s.length(), standardStrings);
        return word(s, t, 0, "discard")
                && (word(s, t, 1, "temp") || word(s, t, 1, "temporary") || word(s, t, 1, "all"));
    }

    static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    private static boolean word(CharSequence s, List<SqlToken> t, int i, String w) {
        return i < t.size() && t.get(i).isWord(s, w);
    }

    private static boolean name(List<SqlToken> t, int i) {
        return i < t.size() && (t.get(i).type() == Type.WORD || t.get(i).type() == Type.IDENT);
    }
}
