package org.mtm.gateway.internal.commit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.Test;
import org.mtm.gateway.internal.commit.Footprint.Notes;
import org.mtm.gateway.internal.commit.Footprint.Quick;
import org.mtm.gateway.internal.commit.Footprint.Route;

/** How a transaction commits, from what it did (DESIGN §2 hard points). */
public class FootprintTest {

    /** Answers the locks query with fixed flags and counts it (the quick query is not asked here). */
    private static final class Locks implements CommitContext {
        final AtomicInteger asked = new AtomicInteger();
        private final String temporary;
        private final String replicated;

        Locks(boolean temporary, boolean replicated) {
            this.temporary = temporary ? "t" : "f";
            this.replicated = replicated ? "t" : "f";
        }

        @Override
        public SessionInfo session() {
            return new SessionInfo("u", "d", "", 1);
        }

        @Override
        public boolean implicit() {
            return false;
        }

        @Override
        public CompletionStage<QueryResult> execute(String sql) {
            assertEquals(Footprint.LOCKS_SQL, sql);
            asked.incrementAndGet();
            return CompletableFuture.completedFuture(new QueryResult("SELECT 1", List.of(List.of(temporary, replicated)),
                    null, List.of(), 'T'));
        }

        @Override
        public CompletionStage<QueryResult> executeDetached(String sql) {
            throw new UnsupportedOperationException();
        }
    }

    private static Route route(Long xid, boolean tempSchema, Notes notes, Locks locks) {
        return Footprint.of(locks, new Quick(xid, tempSchema, false), notes).toCompletableFuture().join().route();
    }

    @Test
    public void anXidWithoutAWritersLockCommitsLocally() {
        // SELECT ... FOR UPDATE, nextval(): an xid but nothing logical decoding would carry to the peers
        Locks none = new Locks(false, false);
        assertEquals(Route.LOCAL, route(7L, false, ROWS, none));
        assertEquals(1, none.asked.get());
        // global DDL changes only catalogs (no writer's lock on a user table): still the cluster's commit, no locks asked
        Locks never = new Locks(false, false);
        assertEquals(Route.CLUSTER, route(7L, false, GLOBAL_DDL, never));
        assertEquals(0, never.asked.get());
        assertEquals(Route.CLUSTER, route(7L, false, ROWS, new Locks(false, true)));
    }

    private static final Notes ROWS = new Notes(true, false, false, false);
    private static final Notes NOTHING_REPLICATED = new Notes(false, false, false, false);
    private static final Notes NOTIFY = new Notes(true, true, false, false);
    private static final Notes TEMP_DDL = new Notes(true, false, false, true);
    private static final Notes GLOBAL_DDL = new Notes(true, false, true, false);

    @Test
    public void routes() {
        // no xid: nothing written, local; no locks looked at
        Locks never = new Locks(true, true);
        assertEquals(Route.LOCAL, route(null, true, ROWS, never));
        // only statements that cannot change replicated data (local utility, DDL on unlogged objects)
        assertEquals(Route.LOCAL, route(7L, true, NOTHING_REPLICATED, never));
        assertEquals(0, never.asked.get());
        // an ordinary write in a session without temporary objects: the cluster
        assertEquals(Route.CLUSTER, route(7L, false, ROWS, new Locks(false, true)));
        // a session with temporary objects: the locks say what the transaction touched
        assertEquals(Route.CLUSTER, route(7L, true, ROWS, new Locks(false, true)));
        assertEquals(Route.LOCAL, route(7L, true, ROWS, new Locks(true, false)));
        assertEquals(Route.REFUSE, route(7L, true, ROWS, new Locks(true, true)));
        // DDL on a temporary table the gateway saw (a dropped one leaves no catalog row to find)
        assertEquals(Route.LOCAL, route(7L, true, TEMP_DDL, new Locks(false, false)));
        assertEquals(Route.REFUSE, route(7L, true, TEMP_DDL, new Locks(false, true)));
        // global DDL counts as a replicated change even though catalog locks are gone by commit time
        assertEquals(Route.REFUSE, route(7L, true, GLOBAL_DDL, new Locks(true, false)));
        // LISTEN/NOTIFY
        assertEquals(Route.LOCAL, route(7L, false, NOTIFY, new Locks(false, false)));
        assertEquals(Route.REFUSE, route(7L, false, NOTIFY, new Locks(false, true)));
    }

    @Test
    public void largeObjectWritesAreRefusedWhateverElseTheTransactionDid() {
        Locks never = new Locks(false, false);
        // SELECT lo_create(0) alone: no writer's lock on a user table, yet committed here alone the nodes would differ
        Footprint alone = Footprint.of(never, new Quick(7L, false, false, true), ROWS).toCompletableFuture().join();
        assertEquals(Route.REFUSE, alone.route());
        assertEquals(Route.REFUSE, Footprint.of(never, new Quick(7L, false, false, true), ROWS)
            .toCompletableFuture().join().route());
        assertEquals(Route.REFUSE, Footprint.of(new Locks(false, true), new Quick(7L, true, false, true), ROWS)
            .toCompletableFuture().join().route());
        ServerError refused = alone.refusal();
        assertEquals("0A000", refused.sqlState());
        assertTrue(refused.message(), refused.message().contains("large objects are not replicated"));
        assertTrue(refused.hint(), refused.hint().contains("bytea"));
        // reading large objects assigns no xid
        assertEquals(Route.LOCAL, Footprint.of(never, new Quick(null, false, false, false), ROWS)
            .toCompletableFuture().join().route());
    }

    private static QueryResult quickRow(String xid, String locks) {
        java.util.List<String> row = new java.util.ArrayList<>(java.util.Arrays.asList(xid, "f", "read committed", "f", locks));
        return new QueryResult("SELECT 1", List.of(row), null, List.of(), 'T');
    }

    @Test
    public void locksAskedWithTheQuickQueryCostNoSecondRoundTrip() {
        Locks never = new Locks(true, true);
        Quick q = Quick.of(quickRow("7", "{f,t}"));
        assertEquals(new Footprint.Locks(false, true), q.locks());
        assertEquals(Route.CLUSTER, Footprint.of(never, q, ROWS).toCompletableFuture().join().route());
        assertEquals(Route.REFUSE, Footprint.of(never, Quick.of(quickRow("7", "{t,t}")), ROWS).toCompletableFuture().join().route());
        assertEquals(Route.LOCAL, Footprint.of(never, Quick.of(quickRow("7", "{t,f}")), ROWS).toCompletableFuture().join().route());
        assertEquals(Route.LOCAL, Footprint.of(never, Quick.of(quickRow("7", "{f,f}")), ROWS).toCompletableFuture().join().route());
        assertEquals(0, never.asked.get());
        // no xid: the scan was not run (null), and nothing is asked either
        assertEquals(null, Quick.of(quickRow(null, null)).locks());
        assertEquals(Route.LOCAL, Footprint.of(never, Quick.of(quickRow(null, null)), ROWS).toCompletableFuture().join().route());
        assertEquals(0, never.asked.get());
        // the plain quick query (four columns): the locks are asked separately, as before
        Locks writes = new Locks(false, true);
        assertEquals(Route.CLUSTER, route(7L, false, ROWS, writes));
        assertEquals(1, writes.asked.get());
    }

    @Test
    public void theLocksGoWithTheQuickQueryOnlyWhenTheyWouldBeAskedFor() {
        assertEquals(Footprint.QUICK_WITH_LOCKS_SQL, Footprint.quickSql(ROWS));
        assertEquals(Footprint.QUICK_WITH_LOCKS_SQL, Footprint.quickSql(Notes.UNKNOWN));
        assertEquals(Footprint.QUICK_WITH_LOCKS_SQL, Footprint.quickSql(NOTIFY));
        assertEquals(Footprint.QUICK_SQL, Footprint.quickSql(NOTHING_REPLICATED));
        assertEquals(Footprint.QUICK_SQL, Footprint.quickSql(GLOBAL_DDL));
        assertTrue(Footprint.QUICK_WITH_LOCKS_SQL.startsWith(Footprint.QUICK_SQL));
    }

    /** Answers {@link Footprint#UNSEEN_SQL} with a table name (or null) and counts it. */
    private static final class Unseen implements CommitContext {
        final AtomicInteger asked = new AtomicInteger();
        private final String table;

        Unseen(String table) {
            this.table = table;
        }

        @Override
        public SessionInfo session() {
            return new SessionInfo("u", "d", "", 1);
        }

        @Override
        public boolean implicit() {
            return false;
        }

        @Override
        public CompletionStage<QueryResult> execute(String sql) {
            assertEquals(Footprint.UNSEEN_SQL, sql);
            asked.incrementAndGet();
            return CompletableFuture.completedFuture(new QueryResult("SELECT 1",
                    List.of(java.util.Collections.singletonList(table)), null, List.of(), 'T'));
        }

        @Override
        public CompletionStage<QueryResult> executeDetached(String sql) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    public void aTableCreatedUnseenIsRefusedNamingIt() {
        // EXPLAIN ANALYZE SELECT ... INTO inside a DO block: no event trigger sees it; the transaction made types
        assertEquals(new Footprint.Locks(false, true, true), Footprint.Locks.ofArray("{false,true,true}"));
        assertEquals(new Footprint.Locks(false, true, false), Footprint.Locks.ofArray("{f,t}"));
        Unseen easi = new Unseen("easi");
        Footprint unseen = Footprint.of(easi, Quick.of(quickRow("7", "{false,true,true}")), ROWS).toCompletableFuture().join();
        assertEquals(Route.REFUSE, unseen.route());
        ServerError refused = unseen.refusal();
        assertEquals("0A000", refused.sqlState());
        assertTrue(refused.message(), refused.message().contains("table easi was created by a statement the cluster did not see"));
        // types made but no unseen table (a temporary table): the cluster's commit
        assertEquals(Route.CLUSTER, Footprint.of(new Unseen(null), Quick.of(quickRow("7", "{false,true,true}")), ROWS)
            .toCompletableFuture().join().route());
        // no types made: not asked at all (the usual commit); announced DDL: not asked either
        Unseen never = new Unseen("x");
        assertEquals(Route.CLUSTER, Footprint.of(never, Quick.of(quickRow("7", "{false,true,false}")), ROWS)
            .toCompletableFuture().join().route());
        Notes ddl = new Notes(true, false, true, false);
        assertEquals(Route.CLUSTER, Footprint.of(never, new Quick(7L, true, false, false,
            new Footprint.Locks(false, true, true)), ddl).toCompletableFuture().join().route());
        assertEquals(0, never.asked.get());
        assertEquals(1, easi.asked.get());
    }

    @Test
    public void refusalsNameTheReason() {
        ServerError temp = new Footprint(7L, false, true, true, false).refusal();
        assertEquals("0A000", temp.sqlState());
        assertTrue(temp.message(), temp.message().contains("temporary objects (temporary functions, types, operators, SELECT ... INTO TEMP tables) cannot also change replicated tables"));
        assertTrue(temp.hint(), temp.hint().contains("separately"));
        ServerError notify = new Footprint(7L, false, false, true, true).refusal();
        assertTrue(notify.message(), notify.message().contains("LISTEN, UNLISTEN or NOTIFY"));
        ServerError prepare = Footprint.prepareRefused(ServerError.error("0A000",
                "cannot PREPARE a transaction that has operated on temporary objects"));
        assertTrue(prepare.message(), prepare.message().startsWith("[multimaster] the transaction cannot be committed"));
        ServerError other = ServerError.error("40001", "could not serialize access");
        assertEquals(other, Footprint.prepareRefused(other));
    }
}
