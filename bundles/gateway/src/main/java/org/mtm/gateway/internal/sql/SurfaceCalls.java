package org.mtm.gateway.internal.sql;

import java.util.ArrayList;
import java.util.List;

import org.mtm.gateway.internal.sql.SqlToken.Type;

/**
 * Recognizes, in a query that names {@code mtm.<something>}, the calls the gateway answers itself and the
 * queries of the node's status:
 * <ul>
 * <li>{@code SELECT mtm.init_cluster(a, b)} or {@code SELECT * FROM mtm.init_cluster(a, b)} (likewise
 * {@code mtm.alter_sequences()}, {@code mtm.ping()} and the other functions the gateway answers), arguments as string literals (any quoting, with {@code ::text} /
 * {@code ::text[]} casts), {@code ARRAY['x', 'y']}, {@code $n} parameters, or named ({@code my_conninfo => ...}).
 * Another shape around these functions is refused with the usage, rather than reaching PostgreSQL, which
 * does not know them;</li>
 * <li>queries that only read {@code mtm.status()} / {@code mtm.nodes()} ({@link Replication.Reach#STATUS}): a
 * SELECT whose only function calls are those, with a single FROM item.</li>
 * </ul>
 * Pure; works on the tokens {@link SqlSplitter#tokens} returns.
 */
final class SurfaceCalls {
    private static final String INIT_USAGE = "SELECT mtm.init_cluster('<conninfo of this node>', "
            + "'{\"<conninfo of node 2>\", \"<conninfo of node 3>\"}')";

    private final CharSequence s;
    private final List<SqlToken> t;
    private final boolean standardStrings;
    private int pos;

    private SurfaceCalls(CharSequence s, List<SqlToken> tokens, boolean standardStrings) {
        this.s = s;
        this.t = tokens;
        this.standardStrings = standardStrings;
    }

    /** SURFACE, STATUS or REFUSED for the queries above; null for any other query. */
    static Replication classify(CharSequence s, List<SqlToken> tokens, boolean standardStrings) {
        return new SurfaceCalls(s, tokens, standardStrings).classify();
    }

    private Replication classify() {
        SurfaceCall.Function named = null;
        int calls = 0;
        int statusCalls = 0;
        for (int k = 0; k + 2 < t.size(); k++) {
            if (!t.get(k).isWord(s, "mtm") || !t.get(k + 1).isOp(s, '.') || !isName(k + 2)) {
                continue;
            }
            switch (t.get(k + 2).name(s)) {
                case "init_cluster" -> named = SurfaceCall.Function.INIT_CLUSTER;
                case "alter_sequences" -> named = SurfaceCall.Function.ALTER_SEQUENCES;
                case "check_query" -> named = SurfaceCall.Function.CHECK_QUERY;
                case "get_snapshots" -> named = SurfaceCall.Function.GET_SNAPSHOTS;
                case "free_snapshots" -> named = SurfaceCall.Function.FREE_SNAPSHOTS;
                case "drop_node" -> named = SurfaceCall.Function.DROP_NODE;
                case "add_node" -> named = SurfaceCall.Function.ADD_NODE;
                case "join_node" -> named = SurfaceCall.Function.JOIN_NODE;
                case "ping" -> named = SurfaceCall.Function.PING;
                case "status", "nodes" -> statusCalls++;
                default -> { }
            }
            calls++;
        }
        if (named != null) {
            SurfaceCall call = call(named);
            if (call != null) {
                return Replication.surface(call);
            }
            return Replication.surfaceMisused("[multimaster] mtm." + named.column() + " must be called on its own, as "
                    + switch (named) {
                        case INIT_CLUSTER -> INIT_USAGE;
                        case CHECK_QUERY -> "SELECT mtm.check_query('<query>')";
                        case DROP_NODE -> "SELECT mtm.drop_node(<node id>)";
                        case ADD_NODE -> "SELECT mtm.add_node('<conninfo>')";
                        case JOIN_NODE -> "SELECT mtm.join_node(<node id>, '<backup end lsn>')";
                        default -> "SELECT mtm." + named.column() + "()";
                    },
                    "The gateway runs this function itself; it cannot be part of a larger query.");
        }
        return statusCalls > 0 && statusCalls == calls && statusQuery() ? Replication.STATUS : null;
    }

    // ------------------------------------------------------------------ SELECT [* FROM] mtm.f(args)

    private SurfaceCall call(SurfaceCall.Function f) {
        pos = 0;
        if (!word("select")) {
            return null;
        }
        if (op('*')) {
            if (!word("from")) {
                return null;
            }
        }
        if (!word("mtm") || !op('.') || !isName(pos) || !t.get(pos).name(s).equals(f.column())) {
            return null;
        }
        pos++;
        if (!is(Type.LPAREN)) {
            return null;
        }
        Object[] byPosition = new Object[2];
        List<SurfaceCall.Arg> args = new ArrayList<>(2);
        int positional = 0;
        if (!is(Type.RPAREN)) {
            while (true) {
                int slot = positional;
                if (isName(pos) && pos + 2 < t.size() && t.get(pos + 1).isOp(s, '=')
                        && t.get(pos + 2).isOp(s, '>')) {
                    String argName = t.get(pos).name(s);
                    slot = f == SurfaceCall.Function.INIT_CLUSTER ? ("my_conninfo".equals(argName) ? 0
                            : "peers_conninfo".equals(argName) ? 1 : -1)
                            : f == SurfaceCall.Function.CHECK_QUERY && "query_text".equals(argName) ? 0
                            : f == SurfaceCall.Function.DROP_NODE && "node_id".equals(argName) ? 0
                            : f == SurfaceCall.Function.ADD_NODE && "connstr".equals(argName) ? 0
                            : f == SurfaceCall.Function.JOIN_NODE ? ("node_id".equals(argName) ? 0
                            : "backup_end_lsn".equals(argName) ? 1 : -1) : -1;
                    if (slot < 0) {
                        return null;
                    }
                    pos += 3;
                } else {
                    positional++;
                }
                SurfaceCall.Arg a = (f == SurfaceCall.Function.DROP_NODE || f == SurfaceCall.Function.JOIN_NODE) && pos < t.size()
                        && t.get(pos).type() == Type.NUMBER ? number() : argument(f == SurfaceCall.Function.INIT_CLUSTER);
                if (a == null || slot >= byPosition.length || byPosition[slot] != null) {
                    return null;
                }
                byPosition[slot] = a;
                args.add(a);
                if (is(Type.RPAREN)) {
                    break;
                }
                if (!op(',')) {
                    return null;
                }
            }
        }
        is(Type.SEMI); // the statement's own terminator
        if (pos != t.size()) {
            return null;
        }
        int expected = switch (f) {
            case INIT_CLUSTER, JOIN_NODE -> 2;
            case CHECK_QUERY, DROP_NODE, ADD_NODE -> 1;
            default -> 0;
        };
        if (args.size() != expected) {
            return null;
        }
        List<SurfaceCall.Arg> ordered = new ArrayList<>(expected);
        for (int i = 0; i < expected; i++) {
            ordered.add((SurfaceCall.Arg) byPosition[i]);
        }
        return new SurfaceCall(f, ordered);
    }

    /** A number literal (mtm.drop_node's id), followed by any {@code ::type} casts. */
    private SurfaceCall.Arg number() {
        SurfaceCall.Arg a = SurfaceCall.Arg.literal(t.get(pos).text(s));
        pos++;
        while (pos + 1 < t.size() && t.get(pos).isOp(s, ':') && t.get(pos + 1).isOp(s, ':')) {
            pos += 2;
            if (!isName(pos)) {
                return null;
            }
            pos++;
        }
        return a;
    }

    /** A literal, parameter, NULL or (when {@code arrays}) ARRAY[...], followed by any {@code ::type} casts. */
    private SurfaceCall.Arg argument(boolean arrays) {
        if (pos >= t.size()) {
            return null;
        }
        SqlToken tok = t.get(pos);
        SurfaceCall.Arg a;
        if (tok.type() == Type.STRING && tok.prefix() != 'B') {
            int[] next = new int[1];
            a = SurfaceCall.Arg.literal(SqlSplitter.stringValue(s, t, pos, standardStrings, next));
            pos = next[0];
        } else if (tok.type() == Type.PARAM) {
            a = SurfaceCall.Arg.parameter(Integer.parseInt(tok.text(s).substring(1)));
            pos++;
        } else if (tok.isWord(s, "null")) {
            a = SurfaceCall.Arg.NULL;
            pos++;
        } else if (arrays && tok.isWord(s, "array") && pos + 1 < t.size() && t.get(pos + 1).isOp(s, '[')) {
            pos += 2;
            List<SurfaceCall.Arg> elements = new ArrayList<>();
            if (!op(']')) {
                while (true) {
                    SurfaceCall.Arg e = argument(false);
                    if (e == null) {
                        return null;
                    }
                    elements.add(e);
                    if (op(']')) {
                        break;
                    }
                    if (!op(',')) {
                        return null;
                    }
                }
            }
            a = SurfaceCall.Arg.array(elements);
        } else {
            return null;
        }
        // casts: ::text, ::text[], ::character varying ...
        while (pos + 1 < t.size() && t.get(pos).isOp(s, ':') && t.get(pos + 1).isOp(s, ':')) {
            pos += 2;
            if (!isName(pos)) {
                return null;
            }
            while (isName(pos) || (pos < t.size() && t.get(pos).isOp(s, '.'))) {
                pos++;
            }
            while (pos + 1 < t.size() && t.get(pos).isOp(s, '[') && t.get(pos + 1).isOp(s, ']')) {
                pos += 2;
            }
        }
        return a;
    }

    // ------------------------------------------------------------------ status queries

    /**
     * Only mtm.status()/mtm.nodes() calls, no other parentheses (no other function, no subquery), no INTO,
     * and nothing after the FROM item but WHERE/ORDER BY/LIMIT-style clauses: no comma, no JOIN.
     */
    private boolean statusQuery() {
        if (t.isEmpty() || !t.get(0).isWord(s, "select")) {
            return false;
        }
        boolean afterFrom = false;
        for (int k = 0; k < t.size(); k++) {
            SqlToken tok = t.get(k);
            if (tok.type() == Type.LPAREN) {
                boolean call = k >= 3 && t.get(k - 3).isWord(s, "mtm") && t.get(k - 2).isOp(s, '.')
                        && (t.get(k - 1).isWord(s, "status") || t.get(k - 1).isWord(s, "nodes"))
                        && k + 1 < t.size() && t.get(k + 1).type() == Type.RPAREN;
                if (!call) {
                    return false;
                }
            } else if (tok.isWord(s, "into") || tok.isWord(s, "join") || tok.isWord(s, "union")
                    || tok.isWord(s, "intersect") || tok.isWord(s, "except")) {
                return false;
            } else if (tok.isWord(s, "from")) {
                afterFrom = true;
            } else if (afterFrom && tok.isOp(s, ',')) {
                return false;
            } else if (tok.type() == Type.SEMI && k != t.size() - 1) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ token helpers

    private boolean word(String w) {
        if (pos < t.size() && t.get(pos).isWord(s, w)) {
            pos++;
            return true;
        }
        return false;
    }

    private boolean op(char c) {
        if (pos < t.size() && t.get(pos).isOp(s, c)) {
            pos++;
            return true;
        }
        return false;
    }

    private boolean is(Type type) {
        if (pos < t.size() && t.get(pos).type() == type) {
            pos++;
            return true;
        }
        return false;
    }

    private boolean isName(int i) {
        return i < t.size() && (t.get(i).type() == Type.WORD || t.get(i).type() == Type.IDENT);
    }
}
