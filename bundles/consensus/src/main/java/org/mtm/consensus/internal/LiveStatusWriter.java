package org.mtm.consensus.internal;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.RefereeReport;
import org.mtm.api.StatusReport;

/**
 * Publishes this node's live view into the unlogged tables behind the SQL functions {@code mtm.status()}
 * and {@code mtm.nodes()}, so they answer with any SQL shape, through the gateway or directly. Unlogged:
 * no WAL for the rows, never decoded, lost on a crash (and rewritten at once by the running node). The row names
 * the writing connection's backend: the functions stop answering as soon as it is gone, so the connection must be
 * the publisher's own, kept open.
 *
 * <p>One writer per publishing connection ({@link #publish}) writes the view only when it changed, or when the row is
 * not the connection's any more (an unlogged table is emptied by a crash; a new connection); otherwise it sends one
 * statement that takes no transaction id, and the backend's {@code pg_stat_activity.state_change} is what tells
 * {@code mtm.status()} the node still refreshes its view. A write every half second took a transaction id each time
 * and, writing no WAL, committed asynchronously: PostgreSQL then records the commit's LSN for the whole group of 32
 * transaction ids it belongs to, and until the WAL writer flushed it (up to {@code wal_writer_delay}, longer on a
 * loaded machine) no backend could set the committed hint bit on any row of those 32 transactions — a VACUUM just
 * after a load left the visibility map unset (no index-only scans; issue 8's visibility-map flake), and 2 transaction
 * ids a second went by for nothing. Without {@code track_activities} (no {@code state_change}) it writes every time,
 * as before.
 */
final class LiveStatusWriter {
    /**
     * Whether the row is still this backend's and its activity is tracked: a statement without a transaction id whose
     * end {@code mtm.status()} sees as the view's refresh. No row, another writer's, or no tracking: write.
     */
    static final String HEARTBEAT_SQL = "SELECT s.writer_pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() "
        + "AND pg_catalog.current_setting('track_activities')::pg_catalog.bool FROM mtm.live_status s";

    /** What one publication says. */
    private record View(StatusReport status, List<NodeReport> nodes, RefereeReport referee) {
    }

    private final Connection connection;
    /** The view this connection wrote last and committed; null: none (or a write that failed). */
    private View written;

    LiveStatusWriter(Connection connection) {
        this.connection = connection;
    }

    Connection connection() {
        return connection;
    }

    /**
     * Publishes the view: writes it when it differs from the one this connection wrote last or when the row is not this
     * connection's; otherwise only the heartbeat statement. True when it wrote.
     */
    boolean publish(StatusReport s, List<NodeReport> nodes, RefereeReport referee) throws SQLException {
        View view = new View(s, List.copyOf(nodes), referee);
        if (view.equals(written) && stillWritten()) {
            return false;
        }
        written = null;
        write(connection, s, nodes, referee);
        written = view;
        return true;
    }

    private boolean stillWritten() throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(HEARTBEAT_SQL)) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    /** Writes the view in one transaction (which takes a transaction id). */
    static void write(Connection c, StatusReport s, List<NodeReport> nodes, RefereeReport referee) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO mtm.live_status (singleton, my_node_id, status, connected, gen_num, gen_members,"
                    + " gen_members_online, gen_configured, updated_at, writer_pid, referee_connstring, referee_reachable,"
                    + " referee_grant_node, referee_grant_gen, referee_problem)"
                    + " VALUES (true, ?, ?, ?, ?, ?, ?, ?, clock_timestamp(), pg_backend_pid(), ?, ?, ?, ?, ?)"
                    + " ON CONFLICT (singleton) DO UPDATE SET my_node_id = excluded.my_node_id, status = excluded.status,"
                    + " connected = excluded.connected, gen_num = excluded.gen_num, gen_members = excluded.gen_members,"
                    + " gen_members_online = excluded.gen_members_online, gen_configured = excluded.gen_configured,"
                    + " updated_at = excluded.updated_at, writer_pid = excluded.writer_pid,"
                    + " referee_connstring = excluded.referee_connstring, referee_reachable = excluded.referee_reachable,"
                    + " referee_grant_node = excluded.referee_grant_node, referee_grant_gen = excluded.referee_grant_gen,"
                    + " referee_problem = excluded.referee_problem")) {
                ps.setInt(1, s.myNodeId());
                ps.setString(2, s.status().sqlName());
                ps.setArray(3, ints(c, s.connected()));
                ps.setLong(4, s.genNum());
                ps.setArray(5, ints(c, s.genMembers()));
                ps.setArray(6, ints(c, s.genMembersOnline()));
                ps.setArray(7, ints(c, s.genConfigured()));
                ps.setString(8, referee == null ? null : referee.conninfo());
                ps.setObject(9, referee == null ? null : referee.reachable(), java.sql.Types.BOOLEAN);
                ps.setObject(10, referee == null || referee.grantNode() == 0 ? null : referee.grantNode(), java.sql.Types.INTEGER);
                ps.setObject(11, referee == null || referee.grantNode() == 0 ? null : referee.grantGen(), java.sql.Types.BIGINT);
                ps.setString(12, referee == null || referee.reachable() ? null : referee.problem());
                ps.executeUpdate();
            }
            try (Statement st = c.createStatement()) {
                st.execute("DELETE FROM mtm.live_nodes");
            }
            try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO mtm.live_nodes (id, conninfo, is_self, enabled, connected, sender_pid, receiver_pid,"
                    + " n_workers, receiver_mode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (NodeReport n : nodes) {
                    ps.setInt(1, n.id());
                    ps.setString(2, n.conninfo());
                    ps.setBoolean(3, n.isSelf());
                    ps.setBoolean(4, n.enabled());
                    ps.setBoolean(5, n.connected());
                    ps.setObject(6, n.senderPid(), java.sql.Types.INTEGER);
                    ps.setObject(7, n.receiverPid(), java.sql.Types.INTEGER);
                    ps.setString(8, n.isSelf() ? null : Integer.toString(n.nWorkers()));
                    ps.setString(9, n.receiverMode() == null ? null : n.receiverMode().sqlName());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    private static Array ints(Connection c, NodeSet set) throws SQLException {
        return c.createArrayOf("int4", set.ids().toArray());
    }
}
