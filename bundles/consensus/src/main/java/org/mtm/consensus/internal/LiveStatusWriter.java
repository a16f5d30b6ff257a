package org.mtm.consensus.internal;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
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
 */
final class LiveStatusWriter {

    private LiveStatusWriter() {
    }

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
