package org.mtm.gateway.internal.sql;

import java.util.List;

import org.mtm.gateway.internal.sql.SqlToken.Type;

/**
 * {@code setval()} through a gateway. A sequence's position is each node's own (node stride, manual F.31.1), and
 * PostgreSQL 15 does not decode sequence changes, so a plain {@code setval} would move the origin alone and the
 * other nodes would go on handing out values below it. A {@code SELECT} that calls it is therefore replicated like
 * DDL ({@link Replication#settingSequences()}): every node runs the same text in the same distributed transaction,
 * then moves each sequence left outside its residue to the first value of its residue from there on. Any other
 * statement that calls it (INSERT, UPDATE, VALUES, WITH, CALL...), or a SELECT with parameters, cannot be run again
 * as text on the other nodes: refused with 0A000. Calls inside functions are not seen. Pure.
 */
final class SetvalCalls {
    private SetvalCalls() {
    }

    /** For a statement the other classifiers left as {@link Replication#ROWS}: ROWS, settingSequences or REFUSED. */
    static Replication classify(CharSequence s, List<SqlToken> t) {
        if (!callsSetval(s, t)) {
            return Replication.ROWS;
        }
        String hint = "Call it in a statement of its own, with literal arguments: SELECT setval('<sequence>', <value>);"
                + " every node then continues the sequence above that value in its own residue.";
        if (t.isEmpty() || !t.get(0).isWord(s, "select")) {
            String what = !t.isEmpty() && t.get(0).type() == Type.WORD ? t.get(0).name(s).toUpperCase(java.util.Locale.ROOT)
                    : "this statement";
            return Replication.refused("[multimaster] setval() inside " + what + " is not replicated:"
                    + " the other nodes' sequences would stay where they are", hint);
        }
        for (SqlToken tok : t) {
            if (tok.type() == Type.PARAM) {
                return Replication.refused("[multimaster] setval() with parameters (" + tok.text(s) + ") is not replicated:"
                        + " the other nodes run the statement's text", hint);
            }
        }
        return Replication.settingSequences(sequences(s, t));
    }

    /**
     * The sequences the calls name as plain string literals ({@code setval('s', 5)}), for the catalog to say whether
     * they are all temporary or unlogged (node-local: nothing to replicate); empty when a call names its sequence
     * otherwise (an expression: replicated as before).
     */
    private static List<String> sequences(CharSequence s, List<SqlToken> t) {
        List<String> names = new java.util.ArrayList<>();
        for (int i = 0; i + 1 < t.size(); i++) {
            if (!t.get(i).isWord(s, "setval") || t.get(i + 1).type() != Type.LPAREN) {
                continue;
            }
            if (i + 3 >= t.size() || t.get(i + 2).type() != Type.STRING || t.get(i + 2).prefix() != 0
                    || !t.get(i + 3).isOp(s, ',')) {
                return List.of();
            }
            SqlToken lit = t.get(i + 2);
            names.add(s.subSequence(lit.start() + 1, lit.end() - 1).toString().replace("''", "'"));
        }
        return names;
    }

    /** {@code setval(} or {@code pg_catalog.setval(}; another schema's function of that name is not PostgreSQL's. */
    private static boolean callsSetval(CharSequence s, List<SqlToken> t) {
        for (int i = 0; i + 1 < t.size(); i++) {
            if (!t.get(i).isWord(s, "setval") || t.get(i + 1).type() != Type.LPAREN) {
                continue;
            }
            boolean qualified = i > 0 && t.get(i - 1).isOp(s, '.');
            if (!qualified || (i > 1 && t.get(i - 2).isWord(s, "pg_catalog"))) {
                return true;
            }
        }
        return false;
    }
}
