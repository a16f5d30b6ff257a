package org.mtm.api;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;

/**
 * Durable cluster configuration in schema {@code mtm} of a node's database. The same code writes the
 * local node and, during {@code init_cluster}, every peer through a connection the caller opened.
 */
public interface ClusterCatalog {
    String TRANSPORT = "transport";
    String GATEWAY = "gateway";

    /** The configuration stored on the local node, or empty before {@code init_cluster}. */
    Optional<ClusterConfig> clusterConfig();

    /** Creates or upgrades schema {@code mtm} on the database behind {@code connection} (idempotent). */
    void installSchema(Connection connection) throws SQLException;

    /**
     * Publishes, in the local database, where a service of this Karaf node listens ({@link #TRANSPORT}
     * or {@link #GATEWAY}), so that {@code init_cluster} run on another node can find it.
     */
    void advertise(String service, Endpoint endpoint) throws SQLException;

    /** What the Karaf node beside the database behind {@code connection} advertised, by service name. */
    Map<String, Endpoint> advertisedEndpoints(Connection connection) throws SQLException;

    /**
     * Stores {@code config} and the first generation (number 1, every configured node a member) on the
     * database behind {@code connection}, in one transaction. Refuses a database that already belongs
     * to a different cluster.
     */
    void storeClusterConfig(Connection connection, ClusterConfig config) throws SQLException;

    /** Tells the Karaf node beside that database that its configuration changed. */
    void notifyConfigChanged(Connection connection) throws SQLException;
}
