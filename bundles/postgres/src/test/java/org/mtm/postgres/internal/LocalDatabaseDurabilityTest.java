package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.LocalDatabase;

/**
 * What the node writes into its own PostgreSQL through {@link LocalDatabase#connect()} — the catalog rows of
 * init_cluster and the other admin commands, the acceptor's and the resolver's records — is on disk when the commit
 * returns, also where the server's default is {@code synchronous_commit = off} (a DBA's choice for speed): an admin
 * command that reported success must not be forgotten by a crash of that PostgreSQL a moment later. The WAL writer
 * here waits 10 s between rounds, so only a commit's own flush moves the flush position within the test's time.
 */
public class LocalDatabaseDurabilityTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.startSmallServer(WalFlush.LAZY_WAL_WRITER_ASYNC_COMMITS);
    }

    @Test
    public void commitsOfAManagedServersConnectionsAreFlushed() throws SQLException {
        assertCommitsFlushed(pg, "managed");
    }

    @Test
    public void commitsOfAnExternalServersConnectionsAreFlushed() throws SQLException {
        assertCommitsFlushed(new ExternalPostgres(pg.conninfo()), "external");
    }

    @Test
    public void aSettingOtherThanOffIsLeftAsTheDbaChoseIt() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER ROLE CURRENT_USER SET synchronous_commit = remote_write");
        }
        try (Connection c = pg.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW synchronous_commit")) {
            rs.next();
            assertEquals("a role's remote_write (it flushes locally as well) is kept", "remote_write", rs.getString(1));
        } finally {
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                st.execute("ALTER ROLE CURRENT_USER RESET synchronous_commit");
            }
        }
    }

    private static void assertCommitsFlushed(LocalDatabase database, String label) throws SQLException {
        String table = "durable_" + label;
        try (Connection c = database.connect(); Statement st = c.createStatement();
             Connection probe = pg.connect(); Statement p = probe.createStatement()) {
            st.execute("CREATE TABLE " + table + " (id int PRIMARY KEY, note text)");
            WalFlush.assertFlushed(p, label + ": CREATE TABLE");
            for (int i = 1; i <= 5; i++) {
                st.execute("INSERT INTO " + table + " VALUES (" + i + ", 'row " + i + "')");
                WalFlush.assertFlushed(p, label + ": insert " + i);
            }
            c.setAutoCommit(false);
            st.execute("UPDATE " + table + " SET note = 'changed'");
            c.commit();
            WalFlush.assertFlushed(p, label + ": a transaction's commit");
        }
    }
}
