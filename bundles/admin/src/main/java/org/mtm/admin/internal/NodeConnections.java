package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.SQLException;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.Conninfo;
import org.mtm.api.DurableCommits;

/** The administration commands' connections to other nodes' PostgreSQL (init_cluster, add/join node). */
final class NodeConnections {

    private NodeConnections() {
    }

    /**
     * A connection to node {@code id}'s PostgreSQL that commits durably (the catalog rows a command reports written
     * survive a crash, whatever the server's {@code synchronous_commit}); 08001 naming the node and its conninfo —
     * password masked, as the message reaches console users and logs — when it cannot be had.
     */
    static Connection open(Conninfo conninfo, int id) throws ClusterAdminException {
        try {
            Connection c = new org.postgresql.Driver().connect(conninfo.jdbcUrl(), conninfo.jdbcProperties());
            if (c == null) {
                throw new SQLException("the PostgreSQL driver does not accept URL " + conninfo.jdbcUrl());
            }
            return DurableCommits.on(c);
        } catch (SQLException e) {
            throw new ClusterAdminException("08001", "cannot connect to node " + id + " (" + conninfo + "): "
                + e.getMessage() + "; check that its PostgreSQL is running and the conninfo is right", e);
        }
    }
}
