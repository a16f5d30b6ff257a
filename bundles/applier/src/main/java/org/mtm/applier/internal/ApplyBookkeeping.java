package org.mtm.applier.internal;

/**
 * The apply session's bookkeeping around each applied transaction, as SQL-level prepared statements: prepared once
 * when the session opens ({@link #prepareAll}), run with {@code EXECUTE} in the same multi-statement round trips as
 * before ({@code BEGIN; EXECUTE mtm_apply_begin(...)}, {@code EXECUTE mtm_apply_log(...); PREPARE TRANSACTION ...}).
 * Sent as plain queries they were parsed and planned for every transaction, which cost as much backend CPU as the
 * applied rows, PREPARE and COMMIT PREPARED together ({@code bench/commit-statement-cost}, peer variants).
 *
 * <p>SQL-level rather than pgjdbc server-prepared statements: {@code PREPARE TRANSACTION} and {@code COMMIT PREPARED}
 * take no parameters and cannot share a protocol-level prepared statement's round trip, while {@code EXECUTE} goes in
 * the same query string as them. No catalog object is involved (unlike a plpgsql function in {@code mtm}): the
 * statements live in the session, so an applier of any version works with the catalog it finds (rolling
 * {@code bundle:update}). Apply sessions are the cluster's own connections; nothing else sees the names.
 *
 * <p>Public only so that {@code bench/commit-statement-cost} can read the same text (jshell on the compiled classes).
 */
public final class ApplyBookkeeping {

    /** {@code (lock_timeout text, gid text, by_gid bool, origin int, lsn pg_lsn)} → (applied here already, local-tables digest). */
    public static final String BEGIN = "mtm_apply_begin";
    /** {@code (origin int, lsn pg_lsn, gid text, progress pg_lsn, time timestamptz)}: logs the transaction, sets up the origin. */
    public static final String LOG = "mtm_apply_log";
    /** {@code (progress pg_lsn, time timestamptz)}: the origin's progress recorded by the next finishing statement. */
    public static final String ORIGIN = "mtm_apply_origin";

    // names unqualified where the session's empty search_path leaves pg_catalog the only schema searched
    private static final String LOCAL_TABLES_DIGEST = "(SELECT coalesce(pg_catalog.string_agg(rel_schema || '.' || rel_name,"
            + " ',' ORDER BY rel_schema, rel_name), '') FROM mtm.local_tables)";

    private ApplyBookkeeping() {
    }

    /**
     * The three PREPAREs, one string (one round trip), outside a transaction. {@code localTables}: whether
     * {@code mtm.local_tables} exists here (module tests without the mtm catalog); without it the digest is ''.
     *
     * <p>{@value #BEGIN}: applied here already when {@code gid} is prepared here, or (with {@code by_gid}) logged in
     * {@code mtm.applied_xacts} under any origin, or logged as ({@code origin}, {@code lsn}); a NULL gid or lsn
     * matches nothing. It also sets the transaction's {@code lock_timeout} (folded in from a {@code SET LOCAL} of
     * its own): the check itself waits, if ever, under the session's bound, as its tables are only locked by DDL.
     * {@value #LOG}: the {@code mtm.applied_xacts} row written inside the applied transaction, with
     * {@code pg_replication_origin_xact_setup} (a CTE: run once, before the row).
     */
    public static String prepareAll(boolean localTables) {
        return "PREPARE " + BEGIN + " (pg_catalog.text, pg_catalog.text, pg_catalog.bool, pg_catalog.int4, pg_catalog.pg_lsn) AS"
                + " SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_prepared_xacts WHERE gid = $2)"
                + " OR ($3 AND EXISTS (SELECT 1 FROM mtm.applied_xacts WHERE gid = $2))"
                + " OR EXISTS (SELECT 1 FROM mtm.applied_xacts WHERE origin = $4"
                + " AND lsn = $5), "
                + (localTables ? LOCAL_TABLES_DIGEST : "''") + ", pg_catalog.set_config('lock_timeout', $1, true); "
                + "PREPARE " + LOG + " (pg_catalog.int4, pg_catalog.pg_lsn, pg_catalog.text, pg_catalog.pg_lsn,"
                + " pg_catalog.timestamptz) AS WITH o AS (SELECT pg_catalog.pg_replication_origin_xact_setup($4, $5))"
                + " INSERT INTO mtm.applied_xacts (origin, lsn, gid) SELECT $1, $2, $3 FROM o; "
                + "PREPARE " + ORIGIN + " (pg_catalog.pg_lsn, pg_catalog.timestamptz) AS"
                + " SELECT pg_catalog.pg_replication_origin_xact_setup($1, $2)";
    }

    /**
     * {@code EXECUTE} of {@value #BEGIN}; {@code gid} and {@code lsn} may be null (nothing to match).
     * {@code lsn}, {@code progress} and {@code time} are text literals as {@code pg_lsn} and {@code timestamptz} read them.
     */
    public static String begin(long lockTimeoutMs, String gid, boolean byGid, int origin, String lsn) {
        return "EXECUTE " + BEGIN + "('" + lockTimeoutMs + "', " + literal(gid) + ", " + byGid + ", " + origin + ", "
                + literal(lsn) + ")";
    }

    /** {@code EXECUTE} of {@value #LOG}. */
    public static String log(int origin, String lsn, String gid, String progress, String time) {
        return "EXECUTE " + LOG + "(" + origin + ", " + literal(lsn) + ", " + literal(gid) + ", " + literal(progress) + ", "
                + literal(time) + ")";
    }

    /** {@code EXECUTE} of {@value #ORIGIN}. */
    public static String origin(String progress, String time) {
        return "EXECUTE " + ORIGIN + "(" + literal(progress) + ", " + literal(time) + ")";
    }

    private static String literal(String text) {
        return text == null ? "NULL" : Sql.quoteLiteral(text);
    }
}
