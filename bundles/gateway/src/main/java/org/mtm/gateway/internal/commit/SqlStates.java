package org.mtm.gateway.internal.commit;

/** SQLSTATEs the gateway reports itself (PostgreSQL Appendix A names). */
public final class SqlStates {
    private SqlStates() {
    }

    /** feature_not_supported. */
    public static final String FEATURE_NOT_SUPPORTED = "0A000";
    /** reserved_name: user PREPARE TRANSACTION / COMMIT PREPARED with the cluster's MTM- gid prefix. */
    public static final String RESERVED_NAME = "42939";
    /**
     * cannot_connect_now: the node is not online. The original multimaster raised this error without a code
     * (so XX000, internal_error); 57P03 is PostgreSQL's own code for "the server exists but cannot serve you
     * now" (starting up, in recovery), which connection pools and drivers already treat as "try another node".
     */
    public static final String NODE_NOT_ONLINE = "57P03";
    /** admin_shutdown: the gateway is stopping. */
    public static final String ADMIN_SHUTDOWN = "57P01";
    /** connection_failure: the local PostgreSQL cannot be reached. */
    public static final String CONNECTION_FAILURE = "08006";
    /** protocol_violation. */
    public static final String PROTOCOL_VIOLATION = "08P01";
    public static final String TOO_MANY_CONNECTIONS = "53300";
    /** program_limit_exceeded: a client message longer than gateway.max_message_bytes. */
    public static final String PROGRAM_LIMIT_EXCEEDED = "54000";
    /** no_active_sql_transaction: warning of a COMMIT outside a block. */
    public static final String NO_ACTIVE_TRANSACTION = "25P01";
    /** transaction_resolution_unknown. */
    public static final String TRANSACTION_RESOLUTION_UNKNOWN = "08007";
    /** undefined_object: COMMIT/ROLLBACK PREPARED of a gid that is not prepared (any more). */
    public static final String UNDEFINED_OBJECT = "42704";
    /** object_not_in_prerequisite_state: COMMIT/ROLLBACK PREPARED of a gid another session is finishing ("is busy"). */
    public static final String OBJECT_NOT_IN_PREREQUISITE_STATE = "55000";
    /** invalid_authorization_specification: as PostgreSQL's pg_hba refusals (e.g. no encryption). */
    public static final String INVALID_AUTHORIZATION = "28000";
    /** internal_error. */
    public static final String INTERNAL_ERROR = "XX000";
}
