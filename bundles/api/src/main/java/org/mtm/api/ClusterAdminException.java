package org.mtm.api;

/** A cluster administration request failed; the message names what and what to do. */
public class ClusterAdminException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String sqlState;

    public ClusterAdminException(String sqlState, String message, Throwable cause) {
        super(message, cause);
        this.sqlState = sqlState;
    }

    public ClusterAdminException(String sqlState, String message) {
        this(sqlState, message, null);
    }

    /** SQLSTATE to report through the SQL surface. */
    public String sqlState() {
        return sqlState;
    }
}
