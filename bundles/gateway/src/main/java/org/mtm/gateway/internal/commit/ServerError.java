package org.mtm.gateway.internal.commit;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An ErrorResponse/NoticeResponse as the client sees it: severity, SQLSTATE, message and optional detail and
 * hint. The gateway builds these for its own refusals and passes the backend's (or a peer's) through.
 *
 * @param more the backend's other fields by their protocol code (context, schema, table, column, constraint,
 *             position, source location...), in the order it sent them, so that an error or notice the gateway
 *             read and passes on (e.g. a deferred constraint's at COMMIT) reaches the client whole
 */
public record ServerError(String severity, String sqlState, String message, String detail, String hint,
                          Map<Character, String> more) {

    public ServerError {
        if (sqlState == null || sqlState.length() != 5) {
            throw new IllegalArgumentException("SQLSTATE must have 5 characters, got '" + sqlState + "'");
        }
        more = more == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(more));
    }

    public ServerError(String severity, String sqlState, String message, String detail, String hint) {
        this(severity, sqlState, message, detail, hint, Map.of());
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
