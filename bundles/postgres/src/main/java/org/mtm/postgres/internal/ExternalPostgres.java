package org.mtm.postgres.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;
import org.mtm.api.Conninfo;
import org.mtm.api.DurableCommits;
import org.mtm.api.Endpoint;
import org.mtm.api.LocalDatabase;
import org.postgresql.Driver;

/** An existing PostgreSQL server the node is pointed at by conninfo (database.managed = false). */
public final class ExternalPostgres implements LocalDatabase {
    private static final Driver DRIVER = new Driver();

    private final Conninfo conninfo;
    private final String jdbcUrl;
    private final Properties properties;

    /** @throws IllegalArgumentException when the conninfo is malformed or unusable from Java (says why) */
    public ExternalPostgres(String conninfo) {
        this.conninfo = Conninfo.parse(conninfo);
        if (this.conninfo.user().isEmpty()) {
            throw new IllegalArgumentException("database.conninfo '" + this.conninfo
                    + "' names no user: add user=<role>, the role the node and its peers connect as");
        }
        this.jdbcUrl = this.conninfo.jdbcUrl();
        this.properties = this.conninfo.jdbcProperties();
    }

    @Override
    public Connection connect() throws SQLException {
        return DurableCommits.on(open((Properties) properties.clone()));
    }

    @Override
    public Connection connectReplication() throws SQLException {
        Properties p = (Properties) properties.clone();
        p.setProperty("replication", "database");
        p.setProperty("assumeMinServerVersion", "15");
        p.setProperty("preferQueryMode", "simple");
        return open(p);
    }

    private Connection open(Properties p) throws SQLException {
        Connection c = DRIVER.connect(jdbcUrl, p);
        if (c == null) {
            throw new SQLException("pgjdbc does not accept URL " + jdbcUrl, "08001");
        }
        return c;
    }

    @Override
    public Endpoint endpoint() {
        return conninfo.endpoint();
    }

    @Override
    public String databaseName() {
        return conninfo.dbname().orElseThrow();
    }

    @Override
    public String userName() {
        return conninfo.user().orElseThrow();
    }

    /** The conninfo as configured (libpq form), password included: peers need it to connect. */
    @Override
    public String conninfo() {
        return conninfo.format();
    }

    @Override
    public boolean isManaged() {
        return false;
    }

    @Override
    public String toString() {
        return "PostgreSQL at " + conninfo;
    }
}
