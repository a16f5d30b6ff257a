package org.mtm.applier.internal;

import java.util.BitSet;
import java.util.List;

/**
 * The SQL text the applier runs, built from a {@link Target}. Pure: no I/O, unit tested by itself.
 *
 * <p>Every value is a parameter bound as text of unspecified type. A value written (INSERT, UPDATE SET)
 * has no cast: PostgreSQL types the parameter as its target column and applies the column's own
 * assignment rules, typmod included, exactly as for the origin's statement (an explicit cast would pad,
 * truncate or round silently where assignment refuses). A value compared is cast to the column's type
 * with its modifier ({@code ?::character(5)}), so index lookups use the column's own type. A row is identified by its replica identity: the key
 * columns with {@code =}, or (REPLICA IDENTITY FULL) every sent old column, where a NULL is matched
 * with {@code IS NULL} and a type without a default btree equality (json, point, ...) is compared as
 * text. With FULL identity a table may hold duplicate rows; the origin changed exactly one, so the
 * statement changes exactly one ({@code ctid = (SELECT ctid ... LIMIT 1)}). {@code ONLY} keeps the
 * statement to the relation the change was decoded from, never its inheritance children.
 *
 * <p>An INSERT or UPDATE ends with a comment naming the local types its unspecified parameters take
 * ({@link #assignedTypes}): the server fixes a parameter's type when the statement is prepared, and pgjdbc keeps
 * server-prepared statements by their text beyond the {@link Target} that closed them. Without the types in the
 * text, a target rebuilt after {@code ALTER COLUMN ... TYPE} would get back the statement prepared for the old
 * type and fail ("column ... is of type integer but expression is of type text").
 */
final class Sql {

    private Sql() {
    }

    /** {@code "name"} with embedded quotes doubled. */
    static String quoteIdent(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /** {@code 'text'} with embedded quotes doubled (standard_conforming_strings is on since PostgreSQL 9.1). */
    static String quoteLiteral(String text) {
        if (text.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a SQL literal cannot hold a NUL character");
        }
        return '\'' + text.replace("'", "''") + '\'';
    }

    /**
     * {@code INSERT INTO t (a, b) VALUES (?, ?)} over all columns the origin sent (stored generated columns are
     * not sent: each node computes them), with {@code OVERRIDING SYSTEM VALUE} when a column is
     * {@code GENERATED ALWAYS AS IDENTITY}: the origin's value is the row's value.
     */
    static String insert(Target t) {
        if (t.columns.length == 0) {
            return "INSERT INTO " + t.qualifiedName + " DEFAULT VALUES"; // CREATE TABLE t (): rows without columns
        }
        StringBuilder sql = new StringBuilder("INSERT INTO ").append(t.qualifiedName).append(" (");
        StringBuilder values = new StringBuilder(t.hasIdentityAlways() ? ") OVERRIDING SYSTEM VALUE VALUES (" : ") VALUES (");
        for (int i = 0; i < t.columns.length; i++) {
            if (i > 0) {
                sql.append(", ");
                values.append(", ");
            }
            sql.append(t.columns[i]);
            values.append('?');
        }
        BitSet all = new BitSet();
        all.set(0, t.columns.length);
        return sql.append(values).append(')').append(assignedTypes(t, all)).toString();
    }

    /**
     * {@code UPDATE ONLY t SET a = ? ... WHERE <identity> [AND g = ?::t ...]}.
     *
     * @param set   columns to assign (those not sent as unchanged TOAST), parameters first in this order
     * @param where identity columns, parameters after the SET ones (nulls take none)
     * @param nulls identity columns whose old value is NULL
     * @param guard columns that cannot be assigned (GENERATED ALWAYS identity) and must already hold the
     *              new value, parameters last
     */
    static String update(Target t, BitSet set, BitSet where, BitSet nulls, BitSet guard) {
        StringBuilder sql = new StringBuilder("UPDATE ONLY ").append(t.qualifiedName).append(" SET ");
        boolean first = true;
        for (int i = set.nextSetBit(0); i >= 0; i = set.nextSetBit(i + 1)) {
            if (!first) {
                sql.append(", ");
            }
            first = false;
            sql.append(t.columns[i]).append(" = ");
            if (t.domain[i]) {
                // assigned only when it changes: assigning checks the domain's constraints again, and an unchanged
                // value the origin kept under a NOT VALID constraint would fail here alone. The CASE has the column's
                // own type, so keeping the old value is no assignment of a new one.
                String c = t.qualifiedName + '.' + t.columns[i];
                sql.append("(SELECT CASE WHEN (").append(c).append(" IS NULL AND n.v IS NULL) OR (").append(c)
                        .append(" IS NOT NULL AND pg_catalog.format('%s', ").append(c).append(") = n.v) THEN ").append(c)
                        .append(" ELSE n.v::").append(t.types[i]).append(" END FROM (SELECT ?::pg_catalog.text AS v) AS n)");
            } else {
                sql.append('?');
            }
        }
        sql.append(" WHERE ").append(identity(t, where, nulls));
        for (int i = guard.nextSetBit(0); i >= 0; i = guard.nextSetBit(i + 1)) {
            sql.append(" AND ").append(compare(t, i));
        }
        return sql.append(assignedTypes(t, set)).toString();
    }

    /**
     * A trailing comment listing the local types of the columns assigned from parameters without a cast, in parameter
     * order: what the server infers their types from when it prepares the statement (see the class).
     */
    static String assignedTypes(Target t, BitSet assigned) {
        StringBuilder note = new StringBuilder(" /* ");
        boolean first = true;
        for (int i = assigned.nextSetBit(0); i >= 0; i = assigned.nextSetBit(i + 1)) {
            note.append(first ? "" : ", ").append(t.types[i].replace("*/", "* /"));
            first = false;
        }
        return note.append(" */").toString();
    }

    /**
     * {@code WITH d AS (DELETE FROM ONLY t WHERE <identity> RETURNING *) INSERT INTO t (a, b) OVERRIDING SYSTEM VALUE
     * SELECT ?::type, d.b FROM d}: the row moved to the origin's new values, for an UPDATE no UPDATE can replay (a
     * GENERATED ALWAYS identity column changed). Identity parameters first, as in {@link #delete}, then one per column
     * of {@code values} in order; the others (unchanged TOAST) keep the old row's value. Each value is cast to the
     * column's type: a parameter in a SELECT list takes no type from the column it goes to.
     */
    static String move(Target t, BitSet where, BitSet nulls, BitSet values) {
        StringBuilder columns = new StringBuilder();
        StringBuilder select = new StringBuilder();
        for (int i = 0; i < t.columns.length; i++) {
            columns.append(i > 0 ? ", " : "").append(t.columns[i]);
            select.append(i > 0 ? ", " : "");
            if (values.get(i)) {
                select.append("?::").append(t.types[i]);
            } else {
                select.append("d.").append(t.columns[i]);
            }
        }
        return "WITH d AS (DELETE FROM ONLY " + t.qualifiedName + " WHERE " + identity(t, where, nulls) + " RETURNING *)"
                + " INSERT INTO " + t.qualifiedName + " (" + columns + ") OVERRIDING SYSTEM VALUE SELECT " + select
                + " FROM d";
    }

    /** {@code SELECT 1 FROM ONLY t WHERE <identity>}: whether the row is there at all; parameters as in {@link #delete}. */
    static String exists(Target t, BitSet where, BitSet nulls) {
        return "SELECT 1 FROM ONLY " + t.qualifiedName + " WHERE " + identity(t, where, nulls);
    }

    /** {@code DELETE FROM ONLY t WHERE <identity>}; parameters as in {@link #update}. */
    static String delete(Target t, BitSet where, BitSet nulls) {
        return "DELETE FROM ONLY " + t.qualifiedName + " WHERE " + identity(t, where, nulls);
    }

    /** {@code TRUNCATE ONLY a, b [RESTART IDENTITY] [CASCADE]}. */
    static String truncate(List<Target> targets, boolean restartIdentity, boolean cascade) {
        StringBuilder sql = new StringBuilder("TRUNCATE ONLY ");
        for (int i = 0; i < targets.size(); i++) {
            sql.append(i > 0 ? ", " : "").append(targets.get(i).qualifiedName);
        }
        if (restartIdentity) {
            sql.append(" RESTART IDENTITY");
        }
        if (cascade) {
            sql.append(" CASCADE");
        }
        return sql.toString();
    }

    /** {@code a = ?::type(mod)}, or as text for a type without a default btree equality. */
    private static String compare(Target t, int i) {
        // a domain's value is compared as its base type: the cast to the domain would check the domain's constraints,
        // and an old value the origin kept under a NOT VALID one fails them (the origin's WHERE never checked it)
        String type = t.baseTypes[i] != null ? t.baseTypes[i] : t.types[i];
        return t.equality[i] ? t.columns[i] + " = ?::" + type
                : t.columns[i] + "::text = (?::" + type + ")::text";
    }

    private static String identity(Target t, BitSet where, BitSet nulls) {
        StringBuilder cond = new StringBuilder();
        boolean first = true;
        for (int i = where.nextSetBit(0); i >= 0; i = where.nextSetBit(i + 1)) {
            if (!first) {
                cond.append(" AND ");
            }
            first = false;
            if (nulls.get(i)) {
                cond.append(t.columns[i]).append(" IS NULL");
            } else {
                cond.append(compare(t, i));
            }
        }
        if (first) {
            throw new IllegalArgumentException("relation " + t.displayName() + ": no identity columns to find the row by");
        }
        if (!t.fullIdentity()) {
            return cond.toString();
        }
        return "ctid = (SELECT ctid FROM ONLY " + t.qualifiedName + " WHERE " + cond + " LIMIT 1 FOR UPDATE)";
    }
}
