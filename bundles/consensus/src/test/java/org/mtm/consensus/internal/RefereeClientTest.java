package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.lang.annotation.Annotation;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.RefereeReport;
import org.mtm.postgres.internal.ManagedPostgres;
import org.mtm.postgres.internal.TestDirs;
import org.mtm.referee.internal.RefereeGrantStore;
import org.mtm.testing.Await;

/** A data node's referee client against a real referee PostgreSQL, with the functions the referee role installs. */
public class RefereeClientTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres referee;

    @BeforeClass
    public static void start() throws Exception {
        referee = DIRS.startSmallServer();
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

    private static RefereeClient.Held request(RefereeClient c, long gen, long full) throws Exception {
        CompletableFuture<RefereeClient.Held> f = new CompletableFuture<>();
        c.request(gen, full, f::complete);
        return f.get(20, TimeUnit.SECONDS);
    }

    private static boolean clear(RefereeClient c, long full, long lastVote) throws Exception {
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        c.clear(full, lastVote, f::complete);
        return f.get(20, TimeUnit.SECONDS);
    }

    @Test
    public void grantsRefusesClearsAndReportsWhatItSaw() throws Exception {
        RefereeClient one = new RefereeClient(1, referee.conninfo());
        RefereeClient two = new RefereeClient(2, referee.conninfo());
        one.start();
        two.start();
        try {
            assertTrue(clear(one, Long.MAX_VALUE, 0));
            assertEquals(new RefereeClient.Held(1, 5), request(one, 5, 4));
            assertEquals("refused: the grant held", new RefereeClient.Held(1, 5), request(two, 5, 4));
            Await.until(Duration.ofSeconds(10), "node 2's probe sees the grant", () -> two.report().grantNode() == 1);
            RefereeReport r = two.report();
            assertTrue(r.reachable());
            assertEquals(5, r.grantGen());
            assertTrue(r.describe(), r.describe().endsWith("reachable, grant: node 1 in generation 5"));
            assertTrue(clear(two, 6, 6)); // node 2 online in generation 6 of both
            assertEquals(new RefereeClient.Held(2, 7), request(two, 7, 6));
        } finally {
            one.stop();
            two.stop();
        }
    }

    @Test
    public void anUnreachableRefereeIsReportedAndNoGrantAnswered() throws Exception {
        RefereeClient lost = new RefereeClient(1, "host=127.0.0.1 port=1 dbname=mydb user=nobody connect_timeout=1");
        lost.start();
        try {
            assertEquals(null, request(lost, 3, 2));
            assertFalse(clear(lost, 3, 3));
            RefereeReport r = lost.report();
            assertFalse(r.reachable());
            assertFalse(r.problem(), r.problem().isEmpty());
            assertTrue(r.describe(), r.describe().contains("unreachable"));
        } finally {
            lost.stop();
        }
    }
}
