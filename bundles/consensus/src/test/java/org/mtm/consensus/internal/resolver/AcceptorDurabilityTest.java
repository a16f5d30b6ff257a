package org.mtm.consensus.internal.resolver;

import java.sql.Connection;
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
import org.mtm.postgres.internal.WalFlush;

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
        pg = DIRS.startSmallServer(WalFlush.LAZY_WAL_WRITER_ASYNC_COMMITS);
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
                WalFlush.assertFlushed(p, "batch " + i);
            }
        }
    }
}
