package org.mtm.referee.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.annotation.Annotation;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.RefereeGrants.Grant;
import org.mtm.api.RefereeGrants.RefereeGrantRefused;
import org.mtm.postgres.internal.ManagedPostgres;
import org.mtm.postgres.internal.TestDirs;

/** The referee's durable decision on a real PostgreSQL. */
public class RefereeGrantStoreTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.startSmallServer();
    }

    private static RefereeGrantStore store(int timeoutMs) throws SQLException {
        return new RefereeGrantStore(pg, new RefereeGrantStore.Config() {
            @Override
            public int decision__timeout() {
                return timeoutMs;
            }

            @Override
            public Class<? extends Annotation> annotationType() {
                return RefereeGrantStore.Config.class;
            }
        });
    }

    @Test
    public void oneWinnerRenewsAndIsClearedAndSurvivesANewStore() throws Exception {
        RefereeGrantStore s = store(2000);
        s.clear(1, Long.MAX_VALUE);
        assertEquals(new Grant(1, 3), s.request(1, 3));
        RefereeGrantRefused refused = assertThrows(RefereeGrantRefused.class, () -> s.request(2, 4));
        assertEquals("grant was already issued to node 1 in generation 3", refused.getMessage());
        assertEquals(new Grant(1, 5), s.request(1, 5));
        // a referee restart (new component instance on the same database) keeps the decision
        assertEquals(Optional.of(new Grant(1, 5)), store(2000).current());
        s.clear(2, 4); // node 2 online in full generation 4 < 5: the grant stays
        assertEquals(Optional.of(new Grant(1, 5)), s.current());
        s.clear(2, 6);
        assertEquals(Optional.empty(), s.current());
        assertEquals(new Grant(2, 7), s.request(2, 7));
        s.clear(2, 7);
    }

    @Test
    public void aDecisionWaitsBoundedForAnotherInProgress() throws Exception {
        RefereeGrantStore s = store(300);
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> holder = CompletableFuture.runAsync(() -> {
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("SELECT pg_advisory_xact_lock(hashtext('mtm.referee_decision'))");
                held.countDown();
                release.await(10, TimeUnit.SECONDS);
                c.rollback();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(held.await(10, TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        SQLException e = assertThrows(SQLException.class, () -> s.request(1, 9));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals("55P03", e.getSQLState());
        assertTrue("waited " + ms + " ms", ms < 5000);
        release.countDown();
        holder.get(10, TimeUnit.SECONDS);
    }
}
