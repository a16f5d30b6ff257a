package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterNode;
import org.mtm.api.Replication;

/**
 * The replication objects one node needs before it may go online (manual: init_cluster "creates the
 * replication slots and origins on each node"): the publication, one two-phase slot per peer (from which
 * that peer's receiver streams) and the replication origins this node applies each peer's stream under; and REPLICA
 * IDENTITY FULL on tables that exist without a primary key (the publication is FOR ALL TABLES). Idempotent.
 *
 * <p>The origins come first, the slots after: PostgreSQL 15 does not name an origin created while a slot is being built
 * to a transaction decoded from that slot soon after ({@code O} is left out), and a peer would apply such a copy as this
 * node's own (issue 11; OriginNamedAfterSlotBuildTest shows it on a real server).
 */
final class ReplicationSetup {

    private ReplicationSetup() {
    }

    static void prepare(Connection c, ClusterConfig config) throws SQLException {
        prepareAllButSlots(c, config);
        for (ClusterNode peer : config.peers()) {
            String slot = Replication.slotName(peer.id());
            if (!exists(c, "SELECT 1 FROM pg_replication_slots WHERE slot_name = ?", slot)) {
                // 4th argument: two-phase decoding, so PREPARE TRANSACTION reaches the peer at once
                call(c, "SELECT pg_create_logical_replication_slot(?, 'pgoutput', false, true)", slot);
            }
        }
    }

    /**
     * What {@link #prepare} makes before the slots: the publication, the replica identities, the origins — catalog
     * changes committed before any slot of this node starts, so every slot sees them.
     */
    static void prepareAllButSlots(Connection c, ClusterConfig config) throws SQLException {
        if (!exists(c, "SELECT 1 FROM pg_publication WHERE pubname = ?", Replication.PUBLICATION)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE PUBLICATION " + Replication.PUBLICATION + " FOR ALL TABLES");
            }
        }
        try (Statement st = c.createStatement()) {
            // tables that already exist without a primary key: UPDATE/DELETE on them needs a replica identity now
            st.executeQuery("SELECT count(*) FROM mtm.ensure_replica_identity()").close();
        }
        makeOrigins(c, config);
    }

    /** This node's slot names for its peers. */
    static List<String> slotNames(ClusterConfig config) {
        List<String> slots = new ArrayList<>();
        for (ClusterNode peer : config.peers()) {
            slots.add(Replication.slotName(peer.id()));
        }
        return slots;
    }

    /**
     * Every origin this node commits applied transactions under — each peer's {@link Replication#applyOriginNames} and
     * the resolver's — made ahead of any slot of this node (see the class comment). Idempotent.
     */
    static void makeOrigins(Connection c, ClusterConfig config) throws SQLException {
        List<String> origins = new ArrayList<>();
        for (ClusterNode peer : config.peers()) {
            origins.addAll(Replication.applyOriginNames(peer.id()));
        }
        origins.add(Replication.RESOLVER_ORIGIN);
        for (String origin : origins) {
            if (!exists(c, "SELECT 1 FROM pg_replication_origin WHERE roname = ?", origin)) {
                call(c, "SELECT pg_replication_origin_create(?)", origin);
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
