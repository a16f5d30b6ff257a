package org.mtm.api;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * The PostgreSQL server beside this Karaf node: either one the node manages itself (initdb, start,
 * stop) or an existing one reached by conninfo. Registered only while the server accepts connections.
 */
public interface LocalDatabase {

    /** A new ordinary connection to the cluster database as the cluster user; the caller closes it. */
    Connection connect() throws SQLException;

    /** A new logical replication connection (pgjdbc {@code replication=database}); the caller closes it. */
    Connection connectReplication() throws SQLException;

    /** Where clients reach the server, e.g. for {@code mtm env}. */
    Endpoint endpoint();

    /** Database name the cluster replicates. */
    String databaseName();

    /** Role the node and its peers connect as. */
    String userName();

    /** libpq conninfo of this server, as peers would use it ({@code host=… port=… dbname=… user=…}). */
    String conninfo();

    /** True when this node started the server itself (embedded default). */
    boolean isManaged();
}
