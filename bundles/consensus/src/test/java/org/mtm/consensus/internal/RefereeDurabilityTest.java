package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;

import java.lang.annotation.Annotation;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.postgres.internal.ManagedPostgres;
import org.mtm.postgres.internal.TestDirs;
import org.mtm.postgres.internal.WalFlush;
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
        referee = DIRS.startSmallServer(WalFlush.LAZY_WAL_WRITER_ASYNC_COMMITS);
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
                WalFlush.assertFlushed(st, "grant of generation " + gen);
            }
        } finally {
            one.stop();
        }
    }
}
