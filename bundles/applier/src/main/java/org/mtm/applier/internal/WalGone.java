package org.mtm.applier.internal;

import java.sql.SQLException;
import java.util.Locale;

/**
 * The WAL a recovery needs is gone at its donor for good: this node's slot there was invalidated
 * ({@code max_slot_wal_keep_size} exceeded: {@code pg_replication_slots.wal_status = 'lost'}) or dropped, a segment
 * it needs was removed, or the donor committed a transaction whose changes lie before where its slot lets this node
 * start. Retrying the same donor cannot help; another donor may still have it (NodePlan), else the node is disabled.
 * The rules are pure: which errors and slot states say so.
 */
final class WalGone extends IllegalStateException {

    WalGone(String message) {
        super(message);
    }

    /**
     * Whether a failure of START_REPLICATION or of the stream says the WAL is gone: the walsender's "requested WAL
     * segment ... has already been removed" (58P01), or the refusal of a slot invalidated for exceeding
     * max_slot_wal_keep_size (55000; its wording differs between PostgreSQL versions).
     */
    static boolean saysGone(String sqlState, String message) {
        String m = message == null ? "" : message.toLowerCase(Locale.ROOT);
        if ("58P01".equals(sqlState) && m.contains("has already been removed")) {
            return true;
        }
        return "55000".equals(sqlState) && (m.contains("has been invalidated") || m.contains("can no longer get changes"));
    }

    /** The same for an exception or its causes. */
    static boolean saysGone(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof WalGone) {
                return true;
            }
            if (t instanceof SQLException s && saysGone(s.getSQLState(), s.getMessage())) {
                return true;
            }
        }
        return false;
    }

    /**
     * What the donor's {@code pg_replication_slots} says of this node's slot: why the WAL is gone, or null when the
     * slot still reserves it ({@code reserved}, {@code extended}, {@code unreserved}: not removed yet).
     *
     * @param exists    the slot exists
     * @param walStatus its {@code wal_status}
     */
    static String fromSlot(String slot, boolean exists, String walStatus) {
        if (!exists) {
            return "replication slot " + slot + " does not exist";
        }
        return "lost".equals(walStatus) ? "replication slot " + slot + " was invalidated (wal_status lost:"
            + " max_slot_wal_keep_size exceeded)" : null;
    }
}
