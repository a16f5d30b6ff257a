package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.mtm.api.ClusterAdminException;

/**
 * A node whose user triggers fire in replica mode is refused by init_cluster, add_node and join_node. The appliers
 * run the other nodes' rows and DDL with {@code session_replication_role = replica}: a row trigger or rule set ENABLE
 * ALWAYS/REPLICA on a replicated table, or an event trigger so set, fires again on every node that applies the
 * origin's change, and one that writes (an audit row) leaves each node rows of its own, never replicated. The gateway
 * refuses setting them once the cluster exists; these are the ones set before, or by a direct connection. Found by
 * {@code mtm.replica_mode_triggers()} (schema mtm), which leaves out the cluster's own event triggers.
 */
final class ReplicaModeTriggers {

    /** One of them: what ({@code trigger t on s.r}, {@code rule u on s.r}, {@code event trigger e}), mode, fix. */
    record Found(String what, String mode, String remedy) {
    }

    private ReplicaModeTriggers() {
    }

    /** Refuses (55000) when the node reached by {@code c} has any; {@code node} names it in the message. */
    static void refuseAny(Connection c, String node) throws SQLException, ClusterAdminException {
        ClusterAdminException refusal = refusal(node, on(c));
        if (refusal != null) {
            throw refusal;
        }
    }

    /** The node's triggers that fire in replica mode (none where its schema mtm predates the function). */
    static List<Found> on(Connection c) throws SQLException {
        List<Found> found = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT pg_catalog.to_regprocedure('mtm.replica_mode_triggers()') IS NOT NULL");
             ResultSet rs = ps.executeQuery()) {
            if (!rs.next() || !rs.getBoolean(1)) {
                return found;
            }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT what, mode, remedy FROM mtm.replica_mode_triggers()");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                found.add(new Found(rs.getString(1), rs.getString(2), rs.getString(3)));
            }
        }
        return found;
    }

    /** The refusal naming each trigger and the statements that fix it, or null when there are none. */
    static ClusterAdminException refusal(String node, List<Found> found) {
        if (found.isEmpty()) {
            return null;
        }
        return new ClusterAdminException("55000", node + " has triggers or rules set to fire in replica mode: "
            + found.stream().map(f -> f.what() + " (ENABLE " + f.mode() + ")").collect(Collectors.joining(", "))
            + ". The cluster applies the other nodes' rows and DDL there in replica mode, where such a trigger fires"
            + " again after it fired on the origin, and one that writes leaves every node rows of its own. Make each"
            + " fire only on the node where the transaction runs (what it writes then reaches the other nodes as rows),"
            + " then retry: "
            + found.stream().map(Found::remedy).collect(Collectors.joining("; ")));
    }
}
