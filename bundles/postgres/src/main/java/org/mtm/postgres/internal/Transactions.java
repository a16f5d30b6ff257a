package org.mtm.postgres.internal;

import java.sql.Connection;
import java.sql.SQLException;

/** Runs work in one transaction on a caller's connection, or inside the caller's own transaction. */
final class Transactions {

    interface Work<T> {
        T run() throws SQLException;
    }

    private Transactions() {
    }

    /**
     * In autocommit mode: begin, run, commit (rollback on failure), autocommit restored. When the caller
     * already has a transaction open (autocommit off) the work joins it and the caller commits.
     */
    static <T> T run(Connection c, Work<T> work) throws SQLException {
        if (!c.getAutoCommit()) {
            return work.run();
        }
        c.setAutoCommit(false);
        try {
            T result = work.run();
            c.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        } finally {
            restoreAutoCommit(c);
        }
    }

    private static void restoreAutoCommit(Connection c) {
        try {
            c.setAutoCommit(true);
        } catch (SQLException e) {
            // the connection broke; the caller sees the original error and discards the connection
        }
    }
}
