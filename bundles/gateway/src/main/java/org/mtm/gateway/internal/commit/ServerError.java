package org.mtm.gateway.internal.commit;

/**
 * An ErrorResponse/NoticeResponse as the client sees it: severity, SQLSTATE, message and optional detail and
 * hint. The gateway builds these for its own refusals and passes the backend's (or a peer's) through.
 */
public record ServerError(String severity, String sqlState, String message, String detail, String hint) {

    public ServerError {
        if (sqlState == null || sqlState.length() != 5) {
            throw new IllegalArgumentException("SQLSTATE must have 5 characters, got '" + sqlState + "'");
        }
    }

    public static ServerError error(String sqlState, String message) {
        return new ServerError("ERROR", sqlState, message, null, null);
    }

    public static ServerError error(String sqlState, String message, String hint) {
        return new ServerError("ERROR", sqlState, message, null, hint);
    }

    public static ServerError warning(String sqlState, String message) {
        return new ServerError("WARNING", sqlState, message, null, null);
    }

    public static ServerError fatal(String sqlState, String message) {
        return new ServerError("FATAL", sqlState, message, null, null);
    }

    public static ServerError fatal(String sqlState, String message, String hint) {
        return new ServerError("FATAL", sqlState, message, null, hint);
    }

    @Override
    public String toString() {
        return severity + " " + sqlState + ": " + message + (detail == null ? "" : " (" + detail + ")");
    }
}
