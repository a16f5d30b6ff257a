package org.mtm.postgres.internal;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

/** Started as an unprivileged user by {@link NonRootTest}: a managed server run without switching users. */
public final class NonRootMain {
    private NonRootMain() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println(run(Path.of(args[0])));
    }

    static String run(Path dataDir) throws Exception {
        ManagedPostgres pg = ManagedPostgres.builder().dataDirectory(dataDir).setting("shared_buffers", "16MB").build();
        pg.start();
        try (Connection c = pg.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_database(), current_setting('wal_level')")) {
            rs.next();
            String owner = ProcessHandle.of(pg.postmasterPid()).orElseThrow().info().user().orElse("?");
            return "jvm=" + System.getProperty("user.name") + " root=" + OsAccounts.jvmIsRoot() + " os=" + pg.osUser()
                    + " postmaster=" + owner + " db=" + rs.getString(1) + " wal_level=" + rs.getString(2);
        } finally {
            pg.stop();
        }
    }
}
