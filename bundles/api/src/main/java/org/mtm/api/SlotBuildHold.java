package org.mtm.api;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * A node's logical replication slots made while its catch-up is held at a unit boundary with nothing of it running, so
 * that each slot is consistent at once and no catalog change it applies can fall into a slot's build.
 *
 * <p>Why: {@code pg_create_logical_replication_slot} waits for every transaction running when it starts (its first
 * phase) and then for those running when they ended (its second). PostgreSQL does not decode the catalog changes
 * committed in the first phase by transactions begun after the start; a transaction that then begins before the slot
 * is consistent and commits after it is decoded with a catalog snapshot that lacks them: a table created in that phase
 * and written by such a transaction stops the slot's decoding for good ({@code could not map filenode … to relation
 * OID}), an origin created then is not named ({@code OriginNamedAfterSlotBuildTest}). A node made from a base backup
 * ({@code mtm.join_node}) makes its slots while its catch-up applies the cluster's transactions, DDL included.
 * With no transaction running the slot is consistent at once: there is no first phase.
 *
 * <p>How: every unit a catch-up applies takes {@link #UNIT_SQL}, this lock shared, as the first thing in its
 * transaction (before any transaction id is assigned), and keeps it until it commits, rolls back or — prepared —
 * until its COMMIT/ROLLBACK PREPARED. The slot maker ({@link #tryBuild}) makes the slots only when
 * <ol>
 * <li>no transaction is prepared here (the base backup's copies of the source's prepared transactions, which only the
 * catch-up finishes, would keep the slot waiting with the catch-up held: it would never be consistent), and</li>
 * <li>it holds the lock exclusively: no catch-up unit is open or prepared, and none can begin until it lets go.</li>
 * </ol>
 * Its wait for the lock is bounded ({@link #HOLD_WAIT_MS}): a queued exclusive request makes new units wait behind it,
 * and a unit prepared before it came may wait for a COMMIT PREPARED that only the catch-up brings; it then lets go and
 * tries again later, and the catch-up goes on meanwhile. A slot's creation is bounded too ({@link #BUILD_WAIT_MS}: it
 * waits, if at all, only for transactions of other sessions, none of which changes the catalog on a node that is not
 * online); if it is not made in time it is not made at all (PostgreSQL drops a slot whose creation failed).
 *
 * <p>A unit waits for a held lock at most {@link #UNIT_WAIT_MS}, then fails and is streamed again (the catch-up's
 * usual answer to a failed unit); a slot maker holds it far shorter.
 */
public final class SlotBuildHold {
    /** The advisory lock's two keys: "mtm", "slot". */
    public static final int KEY1 = 0x6d746d;
    public static final int KEY2 = 0x736c6f74;
    /** The longest the slot maker waits for the catch-up to reach a unit boundary. */
    public static final long HOLD_WAIT_MS = 1_000;
    /** The longest one slot's creation may wait, the catch-up held, for other sessions' transactions. */
    public static final long BUILD_WAIT_MS = 5_000;
    /** The longest a catch-up unit waits for a slot maker (far longer than it holds). */
    public static final long UNIT_WAIT_MS = 60_000;

    /**
     * What a catch-up unit runs right after its BEGIN, ahead of anything else in it: waits while slots are being made
     * (at most {@link #UNIT_WAIT_MS}) and keeps them from being made until it ends. One result set (one row, void).
     * The statements after it set the transaction's own {@code lock_timeout} again.
     */
    public static final String UNIT_SQL = "SET LOCAL lock_timeout = " + UNIT_WAIT_MS + ";"
        + " SELECT pg_catalog.pg_advisory_xact_lock_shared(" + KEY1 + ", " + KEY2 + ")";

    /** What {@link #tryBuild} did. */
    public enum Outcome {
        /** Every slot named exists (made now or before). */
        BUILT,
        /** Not tried: transactions are prepared here (the catch-up finishes them). */
        PREPARED_HERE,
        /** Not tried: the catch-up did not reach a unit boundary within {@link #HOLD_WAIT_MS}. */
        CATCH_UP_BUSY
    }

    /** The step after each observation of the slot maker: the rule {@link #tryBuild} follows. */
    enum Step { WAIT_FOR_PREPARED, HOLD, BUILD }

    private SlotBuildHold() {
    }

    /**
     * The rule: no slot is built while a transaction is prepared here or before the catch-up is held.
     *
     * @param prepared transactions prepared here now
     * @param held     whether the caller holds the lock exclusively
     */
    static Step next(long prepared, boolean held) {
        if (prepared > 0) {
            return Step.WAIT_FOR_PREPARED;
        }
        return held ? Step.BUILD : Step.HOLD;
    }

    /**
     * Makes the missing ones of {@code slots} (pgoutput, two-phase decoding) on {@code c} (autocommit, no transaction
     * open) with the catch-up held; makes none when the rule says not yet. Leaves the lock released and the
     * session's {@code lock_timeout} as it found it.
     */
    public static Outcome tryBuild(Connection c, List<String> slots) throws SQLException {
        try (Statement st = c.createStatement()) {
            if (next(prepared(st), false) == Step.WAIT_FOR_PREPARED) {
                return Outcome.PREPARED_HERE;
            }
            String lockTimeout = setting(st, "lock_timeout");
            boolean held = false;
            try {
                st.execute("SET lock_timeout = " + HOLD_WAIT_MS);
                try {
                    st.execute("SELECT pg_catalog.pg_advisory_lock(" + KEY1 + ", " + KEY2 + ")");
                    held = true;
                } catch (SQLException e) {
                    if (!"55P03".equals(e.getSQLState())) {
                        throw e;
                    }
                    return Outcome.CATCH_UP_BUSY;
                }
                // a unit prepared meanwhile holds the lock: what is prepared now can only be the backup's copies
                if (next(prepared(st), held) == Step.WAIT_FOR_PREPARED) {
                    return Outcome.PREPARED_HERE;
                }
                st.execute("SET lock_timeout = " + BUILD_WAIT_MS);
                for (String slot : slots) {
                    if (!exists(c, slot)) {
                        try (PreparedStatement ps = c.prepareStatement(
                            "SELECT pg_catalog.pg_create_logical_replication_slot(?, 'pgoutput', false, true)")) {
                            ps.setString(1, slot);
                            ps.execute();
                        }
                    }
                }
                return Outcome.BUILT;
            } finally {
                if (held) {
                    st.execute("SELECT pg_catalog.pg_advisory_unlock(" + KEY1 + ", " + KEY2 + ")");
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.set_config('lock_timeout', ?, false)")) {
                    ps.setString(1, lockTimeout);
                    ps.execute();
                }
            }
        }
    }

    private static long prepared(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_catalog.pg_prepared_xacts")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String setting(Statement st, String name) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT pg_catalog.current_setting('" + name + "')")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static boolean exists(Connection c, String slot) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }
}
