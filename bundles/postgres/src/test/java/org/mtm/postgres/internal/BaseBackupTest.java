package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import org.junit.Rule;
import org.junit.Test;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterNode;
import org.mtm.api.Endpoint;

/**
 * A node's managed PostgreSQL made from a base backup of a live node (database.base_backup_from, manual F.31.4.3):
 * real servers. The copy stops at the backup's end (a write to the source after it is not there), is promoted, says
 * which node it came from and where the backup ends, and its catalog reads as "no cluster" (it must not act as its
 * source) with the reason the gateway gives; a restart keeps it so.
 */
public class BaseBackupTest {
    @Rule
    public final TestDirs dirs = new TestDirs();

    @Test
    public void aNewNodeIsMadeFromABaseBackupAndWaitsToJoin() throws Exception {
        ManagedPostgres source = dirs.track(ManagedPostgres.builder().dataDirectory(dirs.newDir().resolve("source"))
            .setting("shared_buffers", "16MB").build());
        source.start();
        try (Connection c = source.connect(); Statement st = c.createStatement()) {
            CatalogSchema.install(c);
            CatalogStore.store(c, new ClusterConfig(1, List.of(new ClusterNode(1, "host=a", new Endpoint("127.0.0.1", 1)),
                new ClusterNode(2, "host=b", new Endpoint("127.0.0.1", 2)))));
            st.execute("CREATE TABLE t (id int PRIMARY KEY)");
            st.execute("INSERT INTO t SELECT generate_series(1, 100)");
        }
        ManagedPostgres copy = dirs.track(ManagedPostgres.builder().dataDirectory(dirs.newDir().resolve("copy"))
            .setting("shared_buffers", "16MB").baseBackupFrom(source.conninfo()).build());
        copy.start();
        try (Connection c = source.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO t VALUES (101)"); // after the backup: not in the copy
        }
        assertFalse(copy.port() == source.port());
        try (Connection c = copy.connect(); Statement st = c.createStatement()) {
            assertEquals("f", query(st, "SELECT pg_is_in_recovery()"));
            assertEquals("100", query(st, "SELECT count(*) FROM t"));
            assertEquals("1", query(st, "SELECT source_node FROM mtm.join_pending"));
            String lsn = query(st, "SELECT backup_end_lsn::text FROM mtm.join_pending");
            assertTrue(lsn, lsn.matches("[0-9A-F]+/[0-9A-F]+"));
            assertEquals(BaseBackup.waitingText(1, lsn), query(st, "SELECT disabled_because FROM mtm.generation_state"));
            assertEquals("0", query(st, "SELECT count(*) FROM mtm.endpoints"));
            assertEquals("0", query(st, "SELECT count(*) FROM pg_file_settings WHERE name LIKE 'recovery_target%'"));
            assertEquals(Optional.empty(), CatalogStore.load(c)); // not node 1, whatever its rows say
            st.execute("INSERT INTO t VALUES (102)"); // promoted: writable
        }
        assertFalse(Files.exists(copy.dataDirectory().resolve(BaseBackup.PENDING_FILE)));
        copy.stop();
        copy.start();
        try (Connection c = copy.connect()) {
            assertEquals(Optional.empty(), CatalogStore.load(c));
        }
        try (Connection c = source.connect()) {
            assertEquals(1, CatalogStore.load(c).orElseThrow().selfId());
        }
    }

    @Test
    public void theEndPointIsReadFromPgBasebackupsOutput() {
        assertEquals("0/12D357F0", BaseBackup.endPoint("pg_basebackup: initiating base backup, waiting for checkpoint\n"
            + "pg_basebackup: write-ahead log start point: 0/12000028 on timeline 1\n"
            + "pg_basebackup: write-ahead log end point: 0/12d357f0\npg_basebackup: base backup completed\n"));
        assertEquals(null, BaseBackup.endPoint("pg_basebackup: error: connection to server failed"));
    }

    private static String query(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

}
