package org.mtm.itests.harness;

import java.sql.SQLException;
import java.util.Set;

import org.postgresql.util.PSQLException;

/**
 * What a client can know of a write it attempted: acknowledged, refused with a definite error, or unknown — the
 * connection ended at COMMIT, or the gateway said the resolution is unknown (as with PostgreSQL itself).
 */
public enum ClientOutcome {
    ACKNOWLEDGED, ERROR, UNKNOWN;

    /** SQLSTATEs after which the client cannot know whether its COMMIT took effect. */
    public static final Set<String> UNKNOWN_STATES = Set.of("08006", "08003", "08007", "08001");

    /**
     * The outcome of a write that failed with {@code e}; {@code atCommit}: the failing statement was the COMMIT (or
     * an autocommit statement). Before COMMIT any failure is definite: nothing of the transaction can commit.
     */
    public static ClientOutcome of(SQLException e, boolean atCommit) {
        return atCommit && (UNKNOWN_STATES.contains(Sql.sqlState(e)) || connectionEnded(e)) ? UNKNOWN : ERROR;
    }

    /** FATAL from the server or gateway, or no server answer at all: the connection is gone. */
    public static boolean connectionEnded(SQLException e) {
        if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
            return "FATAL".equals(p.getServerErrorMessage().getSeverity()) || "PANIC".equals(p.getServerErrorMessage().getSeverity());
        }
        String state = Sql.sqlState(e);
        return state == null || state.startsWith("08");
    }
}
