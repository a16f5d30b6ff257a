package org.mtm.applier.internal;

import java.sql.SQLException;

/**
 * A transaction that cannot be voted down (plain, or a user's own gid) could not be applied: the receiver applies it
 * again from the durable progress, and counts the attempts ({@link ApplyStall}).
 */
final class UnappliedException extends SQLException {
    private static final long serialVersionUID = 1L;

    UnappliedException(String message, SQLException cause) {
        super(message, cause.getSQLState(), cause);
    }
}
