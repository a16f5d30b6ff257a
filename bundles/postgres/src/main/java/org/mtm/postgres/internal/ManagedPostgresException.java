package org.mtm.postgres.internal;

/** A managed PostgreSQL server could not be set up, started or stopped; the message says what to do. */
public class ManagedPostgresException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ManagedPostgresException(String message) {
        super(message);
    }

    public ManagedPostgresException(String message, Throwable cause) {
        super(message, cause);
    }
}
