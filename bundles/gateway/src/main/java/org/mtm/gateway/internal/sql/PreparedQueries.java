package org.mtm.gateway.internal.sql;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.mtm.gateway.internal.sql.SqlToken.Type;

/**
 * The queries of a session's SQL-level prepared statements ({@code PREPARE name [(types)] AS query}), as the gateway
 * relayed them, for {@code CREATE TABLE ... AS EXECUTE name} (and {@code EXPLAIN ANALYZE} of it): the other nodes
 * have no such prepared statement, so the replicated text prepares the query under a name of its own first
 * ({@value #CARRIED_NAME}), runs the statement with that name, and deallocates it.
 *
 * <p>PostgreSQL's {@code pg_prepared_statements.statement} of a SQL-level PREPARE is the whole query string that held
 * it (possibly several statements), so the query is taken from the PREPARE statement here, with the gateway's
 * tokenizer; the DDL message statement checks it against {@code pg_prepared_statements}: the PREPARE statement's text
 * must be in the statement PostgreSQL has under that name, followed by nothing but white space before a semicolon or
 * the end (a PREPARE that failed, say of a name already taken, is recorded here too; see
 * {@code mtm.ctas_execute_text}). A protocol-level prepared statement
 * needs nothing from here: its {@code statement} is the query itself.
 *
 * <p>The static methods are pure; an instance is one session's record (not thread-safe: the session's event loop),
 * bounded to the {@value #LIMIT} latest names.
 */
public final class PreparedQueries {
    /** The name the replicated text gives the prepared statement on the other nodes. */
    public static final String CARRIED_NAME = "mtm_ctas_execute";
    static final int LIMIT = 256;

    /**
     * A PREPARE statement: the prepared statement's name (as PostgreSQL resolves it), its query's text, and the
     * statement's text from PREPARE to its last token.
     */
    public record Prepared(String name, String query, String statement) {
    }

    /** The {@code EXECUTE name} of a CREATE TABLE AS: the name as PostgreSQL resolves it, where it is written. */
    public record Executed(String name, int start, int end) {
        /** {@code text} with the name replaced by {@link #CARRIED_NAME}. */
        public String renamed(CharSequence text) {
            return text.subSequence(0, start) + CARRIED_NAME + text.subSequence(end, text.length());
        }
    }

    private final Map<String, Prepared> queries = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Prepared> eldest) {
            return size() > LIMIT;
        }
    };

    /**
     * Notes a statement relayed to the session's backend: a PREPARE records its query (replacing an earlier one of
     * that name), DEALLOCATE name forgets it, DEALLOCATE ALL and DISCARD ALL forget all. Only statements of
     * {@link Replication.Reach#NO_WRITE} (PREPARE) and {@link Replication.Reach#SESSION} (DEALLOCATE, DISCARD) can
     * be any of them.
     */
    public void relayed(CharSequence statement, Replication.Reach reach, boolean standardStrings) {
        if (reach != Replication.Reach.NO_WRITE && reach != Replication.Reach.SESSION) {
            return;
        }
        List<SqlToken> t = SqlSplitter.tokens(statement, 0, statement.length(), standardStrings);
        if (t.isEmpty() || t.get(0).type() != Type.WORD) {
            return;
        }
        switch (t.get(0).name(statement)) {
            case "prepare" -> {
                Prepared p = prepared(statement, t);
                if (p != null) {
                    queries.remove(p.name());
                    queries.put(p.name(), p);
                }
            }
            case "deallocate" -> {
                int i = word(statement, t, 1, "prepare") ? 2 : 1;
                if (word(statement, t, i, "all")) {
                    queries.clear();
                } else if (isName(t, i)) {
                    queries.remove(t.get(i).name(statement));
                }
            }
            case "discard" -> {
                if (word(statement, t, 1, "all")) {
                    queries.clear();
                }
            }
            default -> {
            }
        }
    }

    /** The session's PREPARE of {@code name} the gateway relayed last, or null. */
    public Prepared get(String name) {
        return queries.get(name);
    }

    /** The query of the session's PREPARE of {@code name} the gateway relayed last, or null. */
    public String query(String name) {
        Prepared p = queries.get(name);
        return p == null ? null : p.query();
    }

    int size() {
        return queries.size();
    }

    /** The PREPARE statement {@code statement} (one statement, a trailing semicolon allowed), or null. */
    public static Prepared prepared(CharSequence statement, boolean standardStrings) {
        return prepared(statement, SqlSplitter.tokens(statement, 0, statement.length(), standardStrings));
    }

    private static Prepared prepared(CharSequence s, List<SqlToken> t) {
        if (!word(s, t, 0, "prepare") || !isName(t, 1) || word(s, t, 1, "transaction") && t.size() > 2
                && t.get(2).type() == Type.STRING) {
            return null;
        }
        int i = 2;
        if (i < t.size() && t.get(i).type() == Type.LPAREN) {
            int depth = 0;
            for (; i < t.size(); i++) {
                if (t.get(i).type() == Type.LPAREN) {
                    depth++;
                } else if (t.get(i).type() == Type.RPAREN && --depth == 0) {
                    break;
                }
            }
            i++;
        }
        if (!word(s, t, i, "as") || i + 1 >= t.size() || t.get(i + 1).type() == Type.SEMI) {
            return null;
        }
        int end = t.get(t.size() - 1).end();
        for (int k = i + 1; k < t.size(); k++) {
            if (t.get(k).type() == Type.SEMI) {
                end = t.get(k - 1).end();
                break;
            }
        }
        return new Prepared(t.get(1).name(s), s.subSequence(t.get(i + 1).start(), end).toString(),
                s.subSequence(t.get(0).start(), end).toString());
    }

    /**
     * The {@code AS EXECUTE name} of a CREATE TABLE AS statement (also under EXPLAIN), or null: the first
     * {@code AS EXECUTE} followed by a name at the statement's top level.
     */
    public static Executed executed(CharSequence statement, boolean standardStrings) {
        List<SqlToken> t = SqlSplitter.tokens(statement, 0, statement.length(), standardStrings);
        int depth = 0;
        for (int k = 0; k + 2 < t.size(); k++) {
            Type type = t.get(k).type();
            if (type == Type.LPAREN) {
                depth++;
            } else if (type == Type.RPAREN) {
                depth--;
            } else if (depth == 0 && word(statement, t, k, "as") && word(statement, t, k + 1, "execute") && isName(t, k + 2)) {
                SqlToken n = t.get(k + 2);
                return new Executed(n.name(statement), n.start(), n.end());
            }
        }
        return null;
    }

    private static boolean isName(List<SqlToken> t, int i) {
        return i < t.size() && (t.get(i).type() == Type.WORD || t.get(i).type() == Type.IDENT);
    }

    private static boolean word(CharSequence s, List<SqlToken> t, int i, String w) {
        return i < t.size() && t.get(i).isWord(s, w);
    }
}
