package org.mtm.consensus.internal.resolver;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.api.Gid;
import org.mtm.consensus.internal.resolver.DeskBatch.Request;
import org.mtm.consensus.internal.resolver.Knowledge.LocalCopy;
import org.mtm.postgres.internal.JdbcClusterCatalog;
import org.mtm.postgres.internal.ManagedPostgres;
import org.mtm.postgres.internal.TestDirs;

/** The acceptor desk's batches against a real PostgreSQL with schema mtm: one read, one write, one commit. */
public class AcceptorDeskTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static final int SELF = 1;
    private static ManagedPostgres pg;
    private static JdbcClusterCatalog catalog;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.startSmallServer();
        catalog = new JdbcClusterCatalog(pg);
    }

    @AfterClass
    public static void stop() {
        if (catalog != null) {
            catalog.deactivate();
        }
    }

    /** Every kind of local copy, read for a whole batch in one statement, and every existing row locked. */
    @Test
    public void oneReadCoversEveryGidOfTheBatchAndLocksTheirRows() throws SQLException {
        Gid prepared = new Gid(3, 501, 1);
        Gid applied = new Gid(2, 502, 1);
        Gid unknown = new Gid(3, 503, 1);
        try (Connection c = pg.connect(); Connection other = pg.connect(); Statement o = other.createStatement()) {
            AcceptorStore.prepareDesk(c);
            Gid committed = new Gid(SELF, ownXid(c, true), 1);
            Gid aborted = new Gid(SELF, ownXid(c, false), 1);
            o.execute("BEGIN; SELECT 1; PREPARE TRANSACTION '" + prepared + "'");
            o.execute("INSERT INTO mtm.applied_xacts (origin, lsn, gid) VALUES (2, '0/501', '" + applied + "')");
            AcceptorState precommitted = Acceptor.precommit(AcceptorState.FRESH).next();
            AcceptorStore.storeAll(c, Map.of(prepared, precommitted, applied, precommitted));
            c.commit();
            try {
                List<Gid> gids = List.of(committed, aborted, prepared, applied, unknown);
                Map<Gid, Knowledge> k = AcceptorStore.readAll(c, gids, SELF);
                assertEquals(Map.of(
                    committed, new Knowledge(AcceptorState.FRESH, LocalCopy.COMMITTED),
                    aborted, new Knowledge(AcceptorState.FRESH, LocalCopy.ABORTED),
                    prepared, new Knowledge(precommitted, LocalCopy.PREPARED),
                    applied, new Knowledge(precommitted, LocalCopy.COMMITTED),
                    unknown, new Knowledge(AcceptorState.FRESH, LocalCopy.NONE)), k);
                o.execute("SET lock_timeout = '100ms'");
                for (Gid locked : List.of(prepared, applied)) {
                    try {
                        o.executeQuery("SELECT 1 FROM mtm.transactions WHERE gid = '" + locked + "' FOR UPDATE").close();
                        fail("the desk's read locks the row of " + locked);
                    } catch (SQLException expected) {
                        assertEquals("55P03", expected.getSQLState());
                    }
                }
                c.rollback();
            } finally {
                o.execute("ROLLBACK PREPARED '" + prepared + "'");
            }
        }
    }

    /**
     * Seeded schedules of promises, accepts and decisions, some contradicting each other, over a few gids with every
     * kind of local copy: handled in batches of every size (repeated gids inside one batch included) they answer,
     * finish, refuse and leave rows exactly as handling the same requests one at a time does.
     */
    @Test
    public void batchesAnswerAndWriteExactlyAsOneRequestAtATime() throws SQLException {
        try (Connection c = pg.connect(); Connection other = pg.connect(); Statement o = other.createStatement()) {
            AcceptorStore.prepareDesk(c);
            Gid own = new Gid(SELF, ownXid(c, true), 2);
            Gid prepared = new Gid(2, 601, 2);
            Gid applied = new Gid(3, 602, 2);
            Gid fresh = new Gid(2, 603, 2);
            List<Gid> gids = List.of(own, prepared, applied, fresh);
            o.execute("BEGIN; SELECT 1; PREPARE TRANSACTION '" + prepared + "'");
            o.execute("INSERT INTO mtm.applied_xacts (origin, lsn, gid) VALUES (3, '0/602', '" + applied + "')");
            try {
                for (int seed = 1; seed <= 40; seed++) {
                    Random random = new Random(seed);
                    List<Request> requests = new ArrayList<>();
                    for (int i = 0; i < 12; i++) {
                        requests.add(randomRequest(random, gids.get(random.nextInt(gids.size()))));
                    }
                    clear(c, gids);
                    Trace oneAtATime = new Trace();
                    for (Request r : requests) {
                        oneAtATime.add(AcceptorStore.handle(c, List.of(r), SELF));
                    }
                    oneAtATime.rows = rows(c, gids);
                    clear(c, gids);
                    Trace batched = new Trace();
                    for (int from = 0; from < requests.size(); ) {
                        int to = seed % 4 == 0 ? requests.size() : Math.min(requests.size(), from + 1 + random.nextInt(6));
                        batched.add(AcceptorStore.handle(c, requests.subList(from, to), SELF));
                        from = to;
                    }
                    batched.rows = rows(c, gids);
                    assertEquals("seed " + seed + ": " + requests, oneAtATime.replies, batched.replies);
                    assertEquals("seed " + seed, oneAtATime.finish, batched.finish);
                    assertEquals("seed " + seed, oneAtATime.violations, batched.violations);
                    assertEquals("seed " + seed, oneAtATime.rows, batched.rows);
                    assertTrue(!oneAtATime.rows.isEmpty());
                }
            } finally {
                o.execute("ROLLBACK PREPARED '" + prepared + "'");
            }
        }
    }

    private static final class Trace {
        final List<Request> replies = new ArrayList<>();
        final List<Gid> finish = new ArrayList<>();
        int violations;
        Map<String, String> rows;

        void add(DeskBatch.Result r) {
            replies.addAll(r.replies());
            finish.addAll(r.finish());
            violations += r.violations().size();
        }
    }

    private static Request randomRequest(Random random, Gid gid) {
        Term term = random.nextInt(4) == 0 ? Term.COORDINATOR : new Term(2 + random.nextInt(3), 1 + random.nextInt(3));
        int from = 1 + random.nextInt(3);
        return switch (random.nextInt(5)) {
            case 0, 1 -> new Request(from, ResolverMessage.accept(gid, term,
                term.equals(Term.COORDINATOR) || random.nextBoolean() ? Proposal.PRECOMMIT : Proposal.PREABORT));
            case 2, 3 -> new Request(from, ResolverMessage.propose(gid, term));
            default -> new Request(from, ResolverMessage.decided(gid, random.nextInt(3) == 0 ? Outcome.ABORTED : Outcome.COMMITTED));
        };
    }

    private static long ownXid(Connection c, boolean commit) throws SQLException {
        long xid;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_current_xact_id()::text::bigint")) {
            rs.next();
            xid = rs.getLong(1);
        }
        if (commit) {
            c.commit();
        } else {
            c.rollback();
        }
        return xid;
    }

    private static void clear(Connection c, List<Gid> gids) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (Gid g : gids) {
                st.execute("DELETE FROM mtm.transactions WHERE gid = '" + g + "'");
            }
        }
        c.commit();
    }

    private static Map<String, String> rows(Connection c, List<Gid> gids) throws SQLException {
        Map<String, String> rows = new TreeMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT gid, coordinator, generation,"
            + " status, proposal_ballot, proposal_node, accepted_ballot, accepted_node FROM mtm.transactions")) {
            while (rs.next()) {
                String gid = rs.getString(1);
                if (gids.stream().anyMatch(g -> g.toString().equals(gid))) {
                    rows.put(gid, rs.getInt(2) + " " + rs.getLong(3) + " " + rs.getString(4) + " "
                        + rs.getInt(5) + "/" + rs.getInt(6) + " " + rs.getInt(7) + "/" + rs.getInt(8));
                }
            }
        }
        c.commit();
        return rows;
    }
}
