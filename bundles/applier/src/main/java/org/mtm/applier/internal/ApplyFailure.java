package org.mtm.applier.internal;

import java.sql.SQLException;
import org.mtm.api.CommitMessage;
import org.mtm.api.Gid;

/**
 * Why a replicated transaction could not be applied here, as the no-vote tells its coordinator (and the
 * coordinator tells the client). Pure mapping from the local PostgreSQL error.
 *
 * <p>A lock wait that hit the bound ({@code 55P03}) and a local deadlock ({@code 40P01}) are both a
 * conflict with a concurrent transaction: the wait may close a cycle across nodes that no single server
 * sees, so the client gets {@code 40P01} and should retry. Serialization failures keep {@code 40001};
 * anything else keeps the server's SQLSTATE and message.
 */
record ApplyFailure(String sqlState, String message) {

    static final String DEADLOCK = "40P01";
    static final String SERIALIZATION_FAILURE = "40001";
    static final String LOCK_NOT_AVAILABLE = "55P03";
    static final String SYNTAX_ERROR = "42601";
    static final String UNDEFINED_FUNCTION = "42883";
    static final String UNDEFINED_TABLE = "42P01";
    static final String FEATURE_NOT_SUPPORTED = "0A000";

    static ApplyFailure of(SQLException e, int self, String gid, String relation, long lockTimeoutMs) {
        return of(e, self, gid, relation, lockTimeoutMs, null);
    }

    /**
     * As {@link #of(SQLException, int, String, String, long)}, knowing this node's PostgreSQL version
     * ({@code server_version}, null: unknown). The origin ran the statement before this node got it, so a syntax
     * error here means this node's PostgreSQL does not know a syntax the origin's does: a newer major's, while the
     * cluster's nodes run different majors (issue 15: refused, with the version named, rather than diverging).
     */
    static ApplyFailure of(SQLException e, int self, String gid, String relation, long lockTimeoutMs,
            String serverVersion) {
        String state = e.getSQLState() == null ? "XX000" : e.getSQLState();
        String where = relation == null ? "" : " on relation " + relation;
        String head = "[multimaster] node " + self + " could not apply transaction " + gid + ": ";
        switch (state) {
            case LOCK_NOT_AVAILABLE:
                return new ApplyFailure(DEADLOCK, head + "lock" + where + " not granted within " + lockTimeoutMs
                        + " ms, conflicting with a concurrent transaction; retry");
            case DEADLOCK:
                return new ApplyFailure(DEADLOCK, head + "deadlock" + where
                        + ", conflicting with a concurrent transaction; retry");
            case SERIALIZATION_FAILURE:
                return new ApplyFailure(SERIALIZATION_FAILURE, head + firstLine(e.getMessage()) + "; retry");
            case SYNTAX_ERROR:
                return new ApplyFailure(state, head + firstLine(e.getMessage()) + (serverVersion == null ? ""
                        : " (node " + self + " runs PostgreSQL " + serverVersion + ", which does not know this syntax:"
                        + " while the nodes run different PostgreSQL majors, use only what the oldest one accepts)"));
            case UNDEFINED_FUNCTION:
            case UNDEFINED_TABLE:
                // PostgreSQL's "function f(integer) does not exist" / "relation \"t\" does not exist" while a row was
                // written (the applier's own "relation ... of node n does not exist" is not quoted): a name that code
                // run by the write — an index expression, a constraint, a domain, a trigger — looked up on search_path
                String first = firstLine(e.getMessage());
                if (relation != null && (state.equals(UNDEFINED_FUNCTION)
                        || first.replaceFirst("^ERROR: ", "").startsWith("relation \""))) {
                    return new ApplyFailure(FEATURE_NOT_SUPPORTED, head + first + " while writing " + relation
                            + ": the nodes apply replicated rows with an empty search_path (as PostgreSQL's apply workers"
                            + " do), so a function that an index expression, a constraint, a domain or a trigger calls must"
                            + " name what it uses with its schema, or be created with SET search_path (ALTER FUNCTION ..."
                            + " SET search_path = public)");
                }
                return new ApplyFailure(state, head + first);
            default:
                return new ApplyFailure(state, head + firstLine(e.getMessage()));
        }
    }

    /**
     * The lock watch stopped the apply: it waited for a lock held by prepared transaction {@code holder}
     * (null: the apply was cancelled while waiting, for a conflict the watch no longer tells).
     */
    static ApplyFailure conflict(int self, String gid, String relation, String holder) {
        return conflict(self, gid, relation, holder, false);
    }

    /** {@code inCycle}: the wait closed a cycle of waits across nodes and this transaction was its victim. */
    static ApplyFailure conflict(int self, String gid, String relation, String holder, boolean inCycle) {
        return new ApplyFailure(DEADLOCK, "[multimaster] node " + self + " could not apply transaction " + gid
                + ": it waits for a lock" + (relation == null ? "" : " on relation " + relation)
                + (holder == null ? "" : " held by prepared transaction " + holder)
                + (inCycle ? ", which waits for it on another node (global deadlock)" : ", conflicting with a concurrent transaction")
                + "; retry");
    }

    CommitMessage vote(Gid gid) {
        return CommitMessage.abortedVote(gid, sqlState, message);
    }

    /**
     * True when the error is about the connection or the server rather than the transaction: the apply
     * connection is gone, the server is shutting down, or the statement was cancelled (the receiver is
     * stopping). Such a transaction is not voted on; the receiver reconnects and applies it again.
     */
    static boolean lostConnection(SQLException e) {
        String s = e.getSQLState();
        return s == null || s.startsWith("08") || s.equals("57P01") || s.equals("57P02") || s.equals("57P03")
                || s.equals("57014");
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
