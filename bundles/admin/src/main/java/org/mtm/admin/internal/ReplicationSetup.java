package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterNode;
import org.mtm.api.Replication;

/**
 * The replication objects one node needs before it may go online (manual: init_cluster "creates the
 * replication slots and origins on each node"): the publication, one two-phase slot per peer (from which
 * that peer's receiver streams) and one replication origin per peer; and REPLICA IDENTITY FULL on tables that
 * exist without a primary key (the publication is FOR ALL TABLES). Idempotent.
 */
final class ReplicationSetup {

    private ReplicationSetup() {
    }

    static void prepare(Connection c, ClusterConfig config) throws SQLException {
        if (!exists(c, "SELECT 1 FROM pg_publication WHERE pubname = ?", Replication.PUBLICATION)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE PUBLICATION " + Replication.PUBLICATION + " FOR ALL TABLES");
            }
        }
        try (Statement st = c.createStatement()) {
            // tables that already exist without a primary key: UPDATE/DELETE on them needs a replica identity now
            st.executeQuery("SELECT count(*) FROM mtm.ensure_replica_identity()").close();
        }
        for (ClusterNode peer : config.peers()) {
            String origin = Replication.originName(peer.id());
            if (!exists(c, "SELECT 1 FROM pg_replication_origin WHERE roname = ?", origin)) {
                call(c, "SELECT pg_replication_origin_create(?)", origin);
            }
            String slot = Replication.slotName(peer.id());
            if (!exists(c, "SELECT 1 FROM pg_replication_slots WHERE slot_name = ?", slot)) {
                // 4th argument: two-phase decoding, so PREPARE TRANSACTION reaches the peer at once
                call(c, "SELECT pg_create_logical_replication_slot(?, 'pgoutput', false, true)", slot);
            }
        }
    }

    private static boolean exists(Connection c, String sql, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static void call(Connection c, String sql, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, name);
            ps.execute();
        }
    }
}
