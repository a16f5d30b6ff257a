package org.mtm.referee.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.annotation.Annotation;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.Random;
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
        s.clear(Long.MAX_VALUE, 0, 0);
        assertEquals(new Grant(1, 3), s.request(1, 3, 2));
        RefereeGrantRefused refused = assertThrows(RefereeGrantRefused.class, () -> s.request(2, 4, 2));
        assertEquals("grant was already issued to node 1 in generation 3", refused.getMessage());
        assertEquals(new Grant(1, 5), s.request(1, 5, 2));
        // a referee restart (new component instance on the same database) keeps the decision
        assertEquals(Optional.of(new Grant(1, 5)), store(2000).current());
        s.clear(4, 2, 4); // a node online in full generation 4 < 5: the grant stays
        assertEquals(Optional.of(new Grant(1, 5)), s.current());
        s.clear(6, 2, 6);
        assertEquals(Optional.empty(), s.current());
        assertEquals(new Grant(2, 7), s.request(2, 7, 6));
        // node 1, online in full generation 8 above node 2's grant, takes it over
        assertEquals(new Grant(1, 9), s.request(1, 9, 8));
        // node 1 online in full generation 8 again with its last vote 10 and no election running: grant 9 was never used
        s.clear(8, 2, 10);
        assertEquals(Optional.of(new Grant(1, 9)), s.current());
        s.clear(8, 1, 10);
        assertEquals(Optional.empty(), s.current());
        s.clear(Long.MAX_VALUE, 0, 0);
    }

    /** The SQL functions data nodes call decide exactly as the pure {@link GrantRules} on random request sequences. */
    @Test
    public void theSqlFunctionsFollowGrantRules() throws Exception {
        RefereeGrantStore s = store(2000);
        Random random = new Random(20261204L);
        for (int round = 0; round < 6; round++) { // each step opens connections: about 0.1 s on the build machine
            s.clear(Long.MAX_VALUE, 0, 0);
            Optional<Grant> model = Optional.empty();
            for (int step = 0; step < 25; step++) {
                int node = 1 + random.nextInt(2);
                long gen = 1 + random.nextInt(12);
                long full = random.nextInt(3) == 0 ? 0 : random.nextInt(12);
                if (random.nextInt(5) == 0) {
                    long lastVote = full + random.nextInt(4);
                    s.clear(full, node, lastVote);
                    model = model.filter(g -> !GrantRules.cleared(g, full, node, lastVote));
                } else {
                    Optional<Grant> expected = GrantRules.decide(model, node, gen, full);
                    try {
                        s.request(node, gen, full);
                        assertTrue("granted " + node + "@" + gen + " full " + full + " over " + model,
                            GrantRules.granted(expected, node, gen));
                    } catch (RefereeGrantRefused e) {
                        assertTrue("refused " + node + "@" + gen + " full " + full + " over " + model,
                            !GrantRules.granted(expected, node, gen));
                    }
                    model = expected;
                }
                assertEquals("after step " + step + " of round " + round, model, s.current());
            }
        }
        s.clear(Long.MAX_VALUE, 0, 0);
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
        SQLException e = assertThrows(SQLException.class, () -> s.request(1, 9, 0));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals("55P03", e.getSQLState());
        assertTrue("waited " + ms + " ms", ms < 5000);
        release.countDown();
        holder.get(10, TimeUnit.SECONDS);
    }
}
