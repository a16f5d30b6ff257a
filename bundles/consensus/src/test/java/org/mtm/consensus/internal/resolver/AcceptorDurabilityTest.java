package org.mtm.consensus.internal.resolver;

import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.Gid;
import org.mtm.postgres.internal.JdbcClusterCatalog;
import org.mtm.postgres.internal.ManagedPostgres;
import org.mtm.postgres.internal.TestDirs;

/**
 * An acceptor's promise or acceptance is answered only once it is on disk, whatever the server's default for
 * {@code synchronous_commit}: a DBA's {@code synchronous_commit = off} in postgresql.conf (a common setting for speed)
 * must not let a crash of this PostgreSQL forget a precommit a coordinator already counted towards its majority. The
 * WAL writer here waits 10 s between rounds, so only the desk's own commit can flush in the test's time.
 */
public class AcceptorDurabilityTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;
    private static JdbcClusterCatalog catalog;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.track(ManagedPostgres.builder().dataDirectory(DIRS.newDir()).setting("shared_buffers", "16MB")
            .setting("synchronous_commit", "off").setting("wal_writer_delay", "10s").setting("autovacuum", "off").maxConnections(20).build());
        pg.start();
        catalog = new JdbcClusterCatalog(pg);
    }

    @AfterClass
    public static void stop() {
        if (catalog != null) {
            catalog.deactivate();
        }
    }

    @Test
    public void aDeskCommitIsFlushedEvenWhenTheServerCommitsAsynchronously() throws SQLException {
        try (Connection c = pg.connect(); Connection probe = pg.connect(); Statement p = probe.createStatement()) {
            AcceptorStore.prepareDesk(c);
            AcceptorState precommitted = Acceptor.precommit(AcceptorState.FRESH).next();
            for (int i = 1; i <= 5; i++) {
                AcceptorStore.storeAll(c, Map.of(new Gid(2, 700 + i, 1), precommitted));
                c.commit();
                long written = lsn(p, "pg_current_wal_insert_lsn()");
                long flushed = lsn(p, "pg_current_wal_flush_lsn()");
                assertTrue("batch " + i + ": flushed up to " + Long.toHexString(flushed) + ", written up to "
                    + Long.toHexString(written), flushed >= written);
            }
        }
    }

    private static long lsn(Statement st, String function) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT " + function + " - '0/0'::pg_lsn")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
