package org.mtm.postgres.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * What a node logs when it starts in a cluster with user triggers that fire in replica mode
 * ({@code mtm.replica_mode_triggers()}): init_cluster, add_node and join_node refuse them and the gateway refuses
 * setting them, but a direct connection to PostgreSQL can still set one, and its node then keeps writes of its own
 * when it applies the others' changes. Only said, not refused: the node has already diverged, if the trigger writes.
 */
final class ReplicaModeWarning {
    private ReplicaModeWarning() {
    }

    /** The warning for the database {@code c} reaches, or null when it has no such trigger. */
    static String of(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT string_agg(what || ' (ENABLE ' || mode || ')', ', ' ORDER BY what),"
                     + " string_agg(remedy, '; ' ORDER BY what) FROM mtm.replica_mode_triggers()")) {
            if (!rs.next() || rs.getString(1) == null) {
                return null;
            }
            return "triggers or rules set to fire in replica mode: " + rs.getString(1) + "; they fire again where this node"
                    + " applies the other nodes' rows and DDL, and what they write there stays on this node. Make each"
                    + " fire on the origin only (" + rs.getString(2) + ", on every node that has it) and compare the"
                    + " tables they write (mtm.check_query)";
        }
    }
}
