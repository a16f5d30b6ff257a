package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterState;
import org.mtm.api.CoordinatedCommit;
import org.mtm.api.Coordinator;
import org.mtm.api.LocalDatabase;

/**
 * {@code mtm.make_table_local(relation)} for the console and JMX. Through a gateway the SQL function of the mtm schema
 * runs in the client's transaction and the gateway commits it through the cluster; here the node runs the same function
 * on its own PostgreSQL and commits it through the coordinator's 3PC ({@link CoordinatedCommit}): the row of
 * {@code mtm.local_tables} (the one mtm table the appliers apply) reaches every node in that transaction or none.
 */
final class LocalTables {

    private LocalTables() {
    }

    static void makeTableLocal(LocalDatabase database, ClusterState state, Coordinator coordinator, String relation)
        throws ClusterAdminException {
        if (state == null || state.selfId() == 0) {
            throw new ClusterAdminException("55000", "mtm.make_table_local: this node is not part of a cluster (run"
                + " mtm.init_cluster first, or this is a referee)");
        }
        if (coordinator == null) {
            throw new ClusterAdminException("57P03", "mtm.make_table_local: the commit coordinator of this node is not running"
                + " (the consensus bundle is starting or being updated); retry");
        }
        try (Connection c = database.connect()) {
            c.setAutoCommit(false);
            try (PreparedStatement st = c.prepareStatement("SELECT mtm.make_table_local(CAST(CAST(? AS text) AS regclass))")) {
                st.setString(1, relation);
                st.executeQuery().close();
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
            CoordinatedCommit.commit(coordinator, c);
        } catch (SQLException e) {
            throw new ClusterAdminException(e.getSQLState() == null ? "XX000" : e.getSQLState(),
                "mtm.make_table_local('" + relation + "'): " + e.getMessage(), e);
        }
    }
}
