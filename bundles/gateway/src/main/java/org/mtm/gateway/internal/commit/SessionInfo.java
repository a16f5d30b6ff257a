package org.mtm.gateway.internal.commit;

/**
 * What the gateway knows about a client session: the startup parameters and the backend's process id.
 * {@code applicationName} follows {@code SET application_name} (the server reports it as ParameterStatus).
 */
public record SessionInfo(String user, String database, String applicationName, int backendPid) {
    /** The application name that keeps a session usable while the node is not online. */
    public static final String ADMIN_APPLICATION = "mtm_admin";

    public boolean isAdmin() {
        return ADMIN_APPLICATION.equals(applicationName);
    }
}
