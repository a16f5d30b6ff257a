package org.mtm.gateway.internal.commit;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The footprint's queries as plpgsql functions on the node's own server, made by the gateway from {@link Footprint}'s
 * statements (the one source of their text). Sent as text on every commit, the quick query with the lock scan costs
 * its backend 0.7–1.2 ms of CPU, most of it planning (the {@code pg_locks} join and its sub-selects); plpgsql plans
 * each query once per backend session and keeps the plan, so a call costs about what a server-prepared statement does
 * (0.27–0.30 ms against 0.68–0.73, {@code bench/commit-statement-cost}) — and unlike a prepared statement of the
 * gateway's, it shows nowhere in the client's {@code pg_prepared_statements}.
 *
 * <p>Each node's gateway makes them on its own server (function definitions are catalog rows: nothing is decoded or
 * replicated), over a connection of its own, so the definition always matches the gateway that calls it: the
 * functions carry the digest of their definitions as their comment, and a gateway whose digest differs (another
 * version of the bundle) replaces them. They are invoker's rights functions with {@code search_path = pg_catalog}.
 */
public final class FootprintRoutines {
    /** {@link Footprint#QUICK_SQL}, with the lock answers of {@link Footprint#QUICK_WITH_LOCKS_SQL} when asked. */
    static final String QUICK = "mtm.gateway_footprint";
    /** {@link Footprint#LOCKS_SQL}. */
    static final String LOCKS = "mtm.gateway_footprint_locks";

    /** Serializes gateways installing on one server (tests run several against one). */
    private static final long INSTALL_LOCK = 0x6d746d5f6670L; // "mtm_fp"

    /** The functions' definitions (public for {@code bench/commit-statement-cost}). */
    public static final List<String> DEFINITIONS = List.of(
            "CREATE FUNCTION " + QUICK + "(with_locks boolean) RETURNS TABLE (fp_xid text, fp_temporary_schema boolean, "
                    + "fp_isolation text, fp_large_objects boolean, fp_locks text[]) "
                    + "LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $fn$\n"
                    + "BEGIN\n"
                    + "    IF with_locks THEN\n"
                    + "        RETURN QUERY " + Footprint.QUICK_WITH_LOCKS_SQL + ";\n"
                    + "    ELSE\n"
                    + "        RETURN QUERY " + Footprint.QUICK_SQL + ", NULL::pg_catalog.text[];\n"
                    + "    END IF;\n"
                    + "END\n$fn$",
            "CREATE FUNCTION " + LOCKS + "() RETURNS TABLE (fp_temporary text, fp_replicated_write text, "
                    + "fp_created_types text) LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $fn$\n"
                    + "BEGIN\n"
                    + "    RETURN QUERY " + Footprint.LOCKS_SQL + ";\n"
                    + "END\n$fn$");

    /** The comment both functions carry: a digest of their definitions. */
    static final String MARK = "mtm gateway footprint " + digest(String.join("\n", DEFINITIONS));

    private FootprintRoutines() {
    }

    /** The call that answers as {@link Footprint#quickSql} would, with or without the lock answers. */
    static String quickCall(boolean withLocks) {
        return "SELECT * FROM " + QUICK + "(" + withLocks + ")";
    }

    /** The call that answers as {@link Footprint#LOCKS_SQL}. */
    static String locksCall() {
        return "SELECT * FROM " + LOCKS + "()";
    }

    /**
     * Makes the functions unless this very version is there. False when the node's catalog (schema mtm) is not
     * installed yet: nothing is made, try again later.
     */
    public static boolean install(Connection c) throws SQLException {
        if (MARK.equals(installedMark(c))) {
            return true;
        }
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SELECT pg_catalog.pg_advisory_xact_lock(" + INSTALL_LOCK + ")");
            try (ResultSet rs = st.executeQuery("SELECT pg_catalog.to_regnamespace('mtm') IS NOT NULL")) {
                if (!rs.next() || !rs.getBoolean(1)) {
                    c.rollback();
                    return false;
                }
            }
            // DROP first: a new version may return other columns, which CREATE OR REPLACE cannot change
            st.execute("DROP FUNCTION IF EXISTS " + QUICK + "(boolean)");
            st.execute("DROP FUNCTION IF EXISTS " + LOCKS + "()");
            for (String definition : DEFINITIONS) {
                st.execute(definition);
            }
            st.execute("COMMENT ON FUNCTION " + QUICK + "(boolean) IS '" + MARK + "'");
            st.execute("COMMENT ON FUNCTION " + LOCKS + "() IS '" + MARK + "'");
            c.commit();
            return true;
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /** The comment of both functions when they agree, else null (missing, or half of another version). */
    static String installedMark(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT "
                + "pg_catalog.obj_description(pg_catalog.to_regprocedure('" + QUICK + "(boolean)'), 'pg_proc'), "
                + "pg_catalog.obj_description(pg_catalog.to_regprocedure('" + LOCKS + "()'), 'pg_proc')")) {
            if (!rs.next()) {
                return null;
            }
            String quick = rs.getString(1);
            return quick != null && quick.equals(rs.getString(2)) ? quick : null;
        }
    }

    private static String digest(String text) {
        try {
            byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(hash, 0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }
}
