package org.mtm.api;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Commits a transaction a node component wrote on its own PostgreSQL connection through the cluster's 3-phase commit,
 * as the gateway commits a client's: {@code PREPARE TRANSACTION '<gid>'}, every member's vote and the precommit round
 * ({@link Coordinator}), then {@code COMMIT PREPARED} — or {@code ROLLBACK PREPARED} and the cluster's error. Used by
 * the administration functions that write ({@code mtm.alter_sequences}, {@code mtm.make_table_local} from the console
 * and JMX): their changes reach every node in that one transaction or nowhere.
 */
public final class CoordinatedCommit {
    /** The votes of every member and the precommit round; far longer than a healthy cluster needs. */
    private static final long DECISION_TIMEOUT_S = 120;
    /** A consistent point ({@code mtm.check_query}) holds commits for a few seconds at most. */
    private static final long ADMISSION_TIMEOUT_S = 10;

    private CoordinatedCommit() {
    }

    /**
     * Commits the open transaction of {@code c} (autocommit off, something written) on every node; leaves {@code c} in
     * autocommit. Errors carry the SQLSTATE a client would get: 57P03/40001 refused before PREPARE (nothing written),
     * the cluster's abort (40001, the peer's error), 08007 when the outcome is left to the resolver.
     */
    public static void commit(Coordinator coordinator, Connection c) throws SQLException {
        long xid;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_current_xact_id()::text::int8")) {
            rs.next();
            xid = rs.getLong(1);
        }
        Gid gid = begin(coordinator, c, xid);
        String literal = "'" + gid.toString().replace("'", "''") + "'";
        try (Statement st = c.createStatement()) {
            try {
                st.execute("PREPARE TRANSACTION " + literal);
            } catch (SQLException e) {
                coordinator.aborted(gid);
                throw e;
            }
            c.setAutoCommit(true);
            Coordinator.Decision decision;
            try {
                decision = coordinator.prepared(gid).get(DECISION_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw unknown(gid, e);
            } catch (ExecutionException | TimeoutException e) {
                throw unknown(gid, e);
            }
            if (!decision.commit()) {
                st.execute("ROLLBACK PREPARED " + literal);
                coordinator.aborted(gid);
                throw new SQLException(decision.message() == null ? "transaction " + gid + " was aborted by the cluster"
                    : decision.message(), decision.sqlState() == null ? "40001" : decision.sqlState());
            }
            st.execute("COMMIT PREPARED " + literal);
            try {
                coordinator.committed(gid).get(DECISION_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                // committed here and decided everywhere: a peer's late acknowledgement changes nothing
            }
        }
    }

    /** {@link Coordinator#begin}, waiting out a hold of the commits; rolls back and throws when refused. */
    private static Gid begin(Coordinator coordinator, Connection c, long xid) throws SQLException {
        for (int attempt = 0; ; attempt++) {
            try {
                return coordinator.begin(xid);
            } catch (Coordinator.CommitsHeldException held) {
                if (attempt < 3) {
                    try {
                        coordinator.admission().toCompletableFuture().get(ADMISSION_TIMEOUT_S, TimeUnit.SECONDS);
                        continue;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } catch (ExecutionException | TimeoutException e) {
                        // refused below with the hold's own message
                    }
                }
                c.rollback();
                throw new SQLException(held.getMessage(), held.sqlState());
            } catch (Coordinator.CommitRefusedException e) {
                c.rollback();
                throw new SQLException(e.getMessage(), e.sqlState());
            }
        }
    }

    private static SQLException unknown(Gid gid, Exception cause) {
        return new SQLException("the outcome of " + gid + " is not known yet (" + cause + "); the cluster resolves it",
            "08007", cause);
    }
}
