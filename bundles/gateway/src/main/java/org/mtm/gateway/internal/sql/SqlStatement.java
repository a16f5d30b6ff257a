package org.mtm.gateway.internal.sql;

/**
 * One statement of a query string: the character range {@code [start, end)} (end includes the terminating
 * semicolon, if any), its kind and, for the prepared-transaction statements, the decoded gid literal.
 */
public record SqlStatement(int start, int end, StatementKind kind, String gid) {

    public SqlStatement(int start, int end, StatementKind kind) {
        this(start, end, kind, null);
    }

    public CharSequence text(CharSequence query) {
        return query.subSequence(start, end);
    }
}
