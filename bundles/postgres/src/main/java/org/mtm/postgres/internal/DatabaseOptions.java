package org.mtm.postgres.internal;

import java.nio.file.Path;

/**
 * The {@code database.*} keys of PID {@code org.mtm.node}, defaults resolved. Pure, so a change of
 * another key of that PID (transport, gateway) can be told apart from a change of the database.
 */
public record DatabaseOptions(boolean managed, String conninfo, Path dataDir, Path binDir, String host, int port,
                              String name, String user, String password, String osUser, int maxConnections,
                              int maxNodes, String baseBackupFrom) {

    /**
     * @param karafData value of the {@code karaf.data} system property (null outside Karaf)
     * @throws IllegalArgumentException naming the key to fix
     */
    public static DatabaseOptions from(LocalPostgres.Config c, String karafData) {
        boolean managed = c.database_managed();
        String conninfo = c.database_conninfo().strip();
        if (!managed && conninfo.isEmpty()) {
            throw new IllegalArgumentException("database.managed is false but database.conninfo is empty: give the "
                    + "conninfo of the existing server (host=... port=... dbname=... user=...) in etc/org.mtm.node.cfg");
        }
        Path dataDir = null;
        if (managed) {
            String dir = c.database_datadir().strip();
            if (dir.isEmpty()) {
                if (karafData == null || karafData.isBlank()) {
                    throw new IllegalArgumentException("database.datadir is empty and karaf.data is not set: "
                            + "set database.datadir in etc/org.mtm.node.cfg");
                }
                dir = karafData + "/postgres";
            }
            dataDir = Path.of(dir);
        }
        String bin = c.database_bindir().strip();
        return new DatabaseOptions(managed, conninfo, dataDir, bin.isEmpty() ? null : Path.of(bin),
                c.database_host().strip(), c.database_port(), c.database_name(), c.database_user(),
                c.database_password().isEmpty() ? null : c.database_password(),
                c.database_osuser().isBlank() ? null : c.database_osuser().strip(),
                c.database_max__connections(), c.database_max__nodes(), c.database_base__backup__from().strip());
    }

    /** The managed server these options describe. */
    public ManagedPostgres managedServer() {
        return ManagedPostgres.builder()
                .dataDirectory(dataDir)
                .binDirectory(binDir)
                .host(host)
                .port(port)
                .database(name)
                .superuser(user)
                .password(password)
                .osUser(osUser)
                .maxConnections(maxConnections)
                .maxNodes(maxNodes)
                .baseBackupFrom(baseBackupFrom)
                .build();
    }

    @Override
    public String toString() {
        // no password
        return managed
                ? "managed PostgreSQL in " + dataDir + " on " + host + ":" + (port == 0 ? "<port chosen at first start>" : port)
                  + ", database " + name + ", user " + user
                : "PostgreSQL at " + org.mtm.api.Conninfo.parse(conninfo);
    }
}
