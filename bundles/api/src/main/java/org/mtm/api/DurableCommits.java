package org.mtm.api;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * For a connection whose commits are promises others act on (an acceptor's promise or acceptance, the referee's
 * grant, a catalog row an admin command reported done): its commits must be on disk before it answers. A server whose
 * default is {@code synchronous_commit = off} (a common setting for speed, in postgresql.conf, per database or per
 * role) would answer first and could forget the promise in a crash; every other setting flushes locally. Every
 * connection the node opens to its own PostgreSQL ({@link LocalDatabase#connect()}) is made so; a session that may
 * commit asynchronously (recovery's bulk apply) says so itself.
 */
public final class DurableCommits {
    /** Sets the session's {@code synchronous_commit} to {@code local} only where it is {@code off}. */
    public static final String SQL = "SELECT pg_catalog.set_config('synchronous_commit', 'local', false)"
        + " WHERE pg_catalog.current_setting('synchronous_commit') = 'off'";

    private DurableCommits() {
    }

    /**
     * Runs {@link #SQL} on a connection just opened (autocommit, outside a transaction) and returns it; closes it when
     * that fails.
     */
    public static Connection on(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(SQL);
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return c;
    }
}
