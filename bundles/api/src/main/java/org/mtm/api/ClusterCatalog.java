package org.mtm.api;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Durable cluster configuration in schema {@code mtm} of a node's database. The same code writes the
 * local node and, during {@code init_cluster}, every peer through a connection the caller opened.
 */
public interface ClusterCatalog {

    /** The configuration stored on the local node, or empty before {@code init_cluster}. */
    Optional<ClusterConfig> clusterConfig();

    /** Creates or upgrades schema {@code mtm} on the database behind {@code connection} (idempotent). */
    void installSchema(Connection connection) throws SQLException;

    /** What the Karaf node beside that database advertised (written at every node start). */
    Optional<NodeEndpoints> advertisedEndpoints(Connection connection) throws SQLException;

    /**
     * Stores {@code config} and the first generation (number 1, every configured node a member) on the
     * database behind {@code connection}, in one transaction. Refuses a database that already belongs
     * to a different cluster.
     */
    void storeClusterConfig(Connection connection, ClusterConfig config) throws SQLException;

    /** Tells the Karaf node beside that database that its configuration changed. */
    void notifyConfigChanged(Connection connection) throws SQLException;

    /** The endpoints a Karaf node publishes in its own database so that {@code init_cluster} can find it. */
    record NodeEndpoints(Endpoint transport, Endpoint gateway) {
    }
}
