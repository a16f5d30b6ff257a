package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.lang.annotation.Annotation;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.postgres.internal.ManagedPostgres;
import org.mtm.postgres.internal.TestDirs;
import org.mtm.referee.internal.RefereeGrantStore;

/**
 * A grant the referee answered is on its disk, even where the referee's PostgreSQL commits asynchronously by default:
 * a grant forgotten in a crash of that server could go to the other data node too, and both would work alone. The
 * WAL writer here waits 10 s between rounds, so only the grant's own commit can flush in the test's time.
 */
public class RefereeDurabilityTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres referee;

    @BeforeClass
    public static void start() throws Exception {
        referee = DIRS.track(ManagedPostgres.builder().dataDirectory(DIRS.newDir()).setting("shared_buffers", "16MB")
            .setting("synchronous_commit", "off").setting("wal_writer_delay", "10s").setting("autovacuum", "off")
            .maxConnections(20).build());
        referee.start();
        new RefereeGrantStore(referee, new RefereeGrantStore.Config() {
            @Override
            public int decision__timeout() {
                return 2000;
            }

            @Override
            public Class<? extends Annotation> annotationType() {
                return RefereeGrantStore.Config.class;
            }
        });
    }

    @Test
    public void aGrantIsFlushedBeforeItIsAnswered() throws Exception {
        RefereeClient one = new RefereeClient(1, referee.conninfo());
        one.start();
        try (Connection c = referee.connect(); Statement st = c.createStatement()) {
            for (long gen = 5; gen <= 9; gen++) {
                CompletableFuture<RefereeClient.Held> f = new CompletableFuture<>();
                one.request(gen, 4, f::complete);
                assertEquals(new RefereeClient.Held(1, gen), f.get(20, TimeUnit.SECONDS));
                long written = lsn(st, "pg_current_wal_insert_lsn()");
                long flushed = lsn(st, "pg_current_wal_flush_lsn()");
                assertTrue("grant of generation " + gen + ": flushed up to " + Long.toHexString(flushed)
                    + ", written up to " + Long.toHexString(written), flushed >= written);
            }
        } finally {
            one.stop();
        }
    }

    private static long lsn(Statement st, String function) throws Exception {
        try (ResultSet rs = st.executeQuery("SELECT " + function + " - '0/0'::pg_lsn")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
