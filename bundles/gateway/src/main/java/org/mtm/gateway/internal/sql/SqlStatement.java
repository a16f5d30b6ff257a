package org.mtm.gateway.internal.sql;

/**
 * One statement of a query string: the character range {@code [start, end)} (end includes the terminating
 * semicolon, if any), where its first token starts ({@code bodyStart}, after leading whitespace and comments),
 * its kind for transaction control, for the prepared-transaction statements the decoded gid literal, and how
 * it reaches the other nodes ({@link Replication}).
 */
public record SqlStatement(int start, int end, StatementKind kind, String gid, int bodyStart, Replication replication) {

    public SqlStatement(int start, int end, StatementKind kind, String gid) {
        this(start, end, kind, gid, start, Replication.ROWS);
    }

    public SqlStatement(int start, int end, StatementKind kind) {
        this(start, end, kind, null);
    }

    public CharSequence text(CharSequence query) {
        return query.subSequence(start, end);
    }

    /**
     * The statement as a DDL message carries it: from its first token to its end, without the terminating
     * semicolon.
     */
    public CharSequence body(CharSequence query) {
        int to = end;
        if (to > bodyStart && query.charAt(to - 1) == ';') {
            to--;
        }
        return query.subSequence(bodyStart, to);
    }

    public Replication.Reach reach() {
        return replication.reach();
    }
}
