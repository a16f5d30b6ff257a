package org.mtm.applier.internal;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.mtm.api.Gid;
import org.mtm.api.LocalDatabase;
import org.mtm.api.Replication;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Origin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;

/**
 * Keeps a peer's slot from being confirmed past a transaction of a third origin that this node has not applied yet.
 *
 * <p>In normal mode a receiver skips the transactions its peer applied from other origins (it gets them from their
 * own origins). But the peer's slot for this node is also what a recovery from this peer as a donor streams, and a
 * logical slot never streams from before its confirmed position: had the receiver confirmed past such a transaction
 * while this node did not have it yet — its own origin's stream lagging, or this node going down first — a later
 * recovery from this donor would start after it, and it would be missing here for good. So the confirmed position
 * stops just before the first skipped two-phase transaction of another origin that is neither prepared here nor
 * logged in {@code mtm.applied_xacts} (applied) nor rolled back in this stream. Checked against the local database
 * at most every {@value #CHECK_INTERVAL_MS} ms. Plain transactions of other origins (administrative bypasses) are
 * not held for.
 *
 * <p>Nor is this node's own transaction — an {@code MTM-} gid of this node, or a unit the peer applied from this
 * node's stream (origin {@code mtm_node_<self>} or a worker's {@code mtm_node_<self>_<k>}): this node prepared it
 * before any peer could, so it never needs it from the peer. Held, it would stay held for good once finished here,
 * as neither {@code pg_prepared_xacts} nor {@code mtm.applied_xacts} shows a node's own committed transaction.
 *
 * <p>Used by one receiver thread.
 */
final class ForeignHold implements AutoCloseable {
    static final long CHECK_INTERVAL_MS = 500;
    private static final String KNOWN_SQL = "SELECT g FROM pg_catalog.unnest(?::text[]) AS g WHERE "
        + "EXISTS (SELECT 1 FROM pg_catalog.pg_prepared_xacts p WHERE p.gid = g) "
        + "OR EXISTS (SELECT 1 FROM mtm.applied_xacts a WHERE a.gid = g)";

    private final LocalDatabase local;
    private final int self;
    /**
     * Start of the PREPARE record in the peer's WAL → gid, for skipped units of other origins not known here yet. The
     * start, not the end: the peer decodes a PREPARE again only if the record starts at or after the slot's confirmed
     * position; confirmed up to its end, a restarted stream would carry only the COMMIT PREPARED, without the body.
     */
    private final TreeMap<Long, String> pending = new TreeMap<>();
    private String openGid;
    private long openPrepareLsn;
    private boolean openForeign;
    private long nextCheck;
    private Connection connection;

    ForeignHold(LocalDatabase local, int self) {
        this.local = local;
        this.self = self;
    }

    /** Every decoded message of the stream, in order. */
    void seen(PgOutputMessage m) {
        switch (m.type()) {
            case 'b' -> {
                BeginPrepare b = (BeginPrepare) m;
                openGid = b.gid();
                openPrepareLsn = b.prepareLsn();
                openForeign = false;
            }
            case 'B' -> openGid = null;
            case 'O' -> openForeign = openGid != null && !fromHere(((Origin) m).name());
            case 'P' -> {
                Prepare p = (Prepare) m;
                if (openForeign && p.gid().equals(openGid) && !ownGid(openGid)) {
                    pending.put(openPrepareLsn, openGid);
                }
                openGid = null;
                openForeign = false;
            }
            case 'r' -> pending.values().remove(((RollbackPrepared) m).gid());
            default -> {
            }
        }
    }

    /** The peer applied the unit from this node's stream: the receiver's origin or one of its workers'. */
    private boolean fromHere(String originName) {
        String own = Replication.originName(self);
        return originName.equals(own) || originName.startsWith(own + "_");
    }

    private boolean ownGid(String gid) {
        if (!Gid.isReserved(gid)) {
            return false;
        }
        try {
            return Gid.parse(gid).originNode() == self;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The highest position that may be confirmed to the peer: {@code finished}, or just before the first held PREPARE. */
    long confirmable(long finished) {
        return pending.isEmpty() ? finished : Math.min(finished, pending.firstKey() - 1);
    }

    boolean holding() {
        return !pending.isEmpty();
    }

    /** Drops the held units that are now prepared or applied here (rate-limited; a failure keeps them held). */
    void recheck() {
        long now = System.nanoTime();
        if (pending.isEmpty() || now - nextCheck < 0) {
            return;
        }
        nextCheck = now + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(CHECK_INTERVAL_MS);
        try {
            if (connection == null || connection.isClosed()) {
                connection = local.connect();
            }
            Set<String> known = new HashSet<>();
            try (PreparedStatement ps = connection.prepareStatement(KNOWN_SQL)) {
                Array gids = connection.createArrayOf("text", pending.values().toArray());
                ps.setArray(1, gids);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        known.add(rs.getString(1));
                    }
                }
            }
            pending.entrySet().removeIf((Map.Entry<Long, String> e) -> known.contains(e.getValue()));
        } catch (SQLException e) {
            close(); // reconnect next time; the units stay held meanwhile
        }
    }

    @Override
    public void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // already broken
            }
            connection = null;
        }
    }
}
