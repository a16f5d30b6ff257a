package org.mtm.gateway.internal.session;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.Test;
import org.mtm.gateway.internal.commit.CommitContext;
import org.mtm.gateway.internal.commit.CommitOutcome;
import org.mtm.gateway.internal.commit.QueryResult;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SessionInfo;
import org.mtm.gateway.internal.commit.TransactionCommitter;
import org.mtm.gateway.internal.sql.TempStandIns;

/**
 * The commit boundary against a fake backend (a script of answers, not PostgreSQL): what runs on the backend, what
 * the committer is handed, and what the client is told, for each way a commit can go.
 */
public class CommitBoundaryTest {
    /** A backend whose statements answer from a script; COMMIT and ROLLBACK leave it idle. Records everything. */
    static class FakeBackend implements SessionBackend, SessionBackend.ClientAnswers {
        char status = 'T';
        final List<String> statements = new ArrayList<>();
        final List<String> client = new ArrayList<>();
        final Map<String, QueryResult> script = new HashMap<>();
        int unawaitedCommits;

        @Override
        public SessionInfo info() {
            return new SessionInfo("u", "db", "app", 4242);
        }

        @Override
        public char transactionStatus() {
            return status;
        }

        @Override
        public boolean closed() {
            return false;
        }

        @Override
        public Executor eventLoop() {
            return Runnable::run;
        }

        @Override
        public boolean inEventLoop() {
            return true;
        }

        @Override
        public CompletableFuture<QueryResult> exchange(String sql) {
            statements.add(sql);
            QueryResult r = script.get(sql);
            if (sql.equals("COMMIT") || sql.equals("ROLLBACK") || sql.startsWith("COMMIT PREPARED")) {
                status = 'I';
            }
            if (r == null) {
                r = new QueryResult(sql.split(" ")[0], List.of(), null, List.of(), status);
            } else if (!r.ok() && status == 'T') {
                status = 'E';
            }
            return CompletableFuture.completedFuture(r);
        }

        @Override
        public CompletableFuture<QueryResult> exchangeSimple(String sql) {
            return exchange(sql);
        }

        @Override
        public void commitUnawaited(boolean simpleQuery) {
            unawaitedCommits++;
            exchange("COMMIT");
        }

        @Override
        public CompletionStage<QueryResult> executeDetached(String sql) {
            statements.add("detached: " + sql);
            return CompletableFuture.completedFuture(new QueryResult("X", List.of(), null, List.of(), 'I'));
        }

        @Override
        public void error(ServerError e) {
            client.add("error " + e.sqlState() + " " + e.message());
        }

        @Override
        public void notice(ServerError e) {
            client.add("notice " + e.sqlState());
        }

        @Override
        public void commandComplete(String tag) {
            client.add("complete " + tag);
        }

        @Override
        public void dropHeldComplete() {
            client.add("held complete dropped");
        }

        @Override
        public void flush() {
        }
    }

    private final FakeBackend backend = new FakeBackend();
    private final TransactionNotes notes = new TransactionNotes();
    private final List<Boolean> handedOver = new ArrayList<>();
    private final AtomicReference<ServerError> refusal = new AtomicReference<>();
    private final AtomicReference<String> standInSchema = new AtomicReference<>();
    /** The committer under the boundary: commits locally by default, or as a test says. */
    private TransactionCommitter committer = tx -> {
        handedOver.add(tx.implicit());
        return tx.execute("COMMIT").thenApply(r -> r.ok() ? CommitOutcome.committed() : CommitOutcome.failed(r.error()));
    };
    private final CommitBoundary boundary = new CommitBoundary(backend, backend, () -> committer, refusal::get, notes,
            standInSchema::get);

    private static QueryResult rows(String... row) {
        return new QueryResult("SELECT 1", List.of(java.util.Arrays.asList(row)), null, List.of(), 'T');
    }

    private static QueryResult failed(String state, String message) {
        return new QueryResult(null, List.of(), ServerError.error(state, message), List.of(), 'E');
    }

    @Test
    public void commitOfAnOpenTransactionGoesToTheCommitter() {
        assertTrue(boundary.commitStatement(false, false).join());
        assertEquals(List.of(false), handedOver);
        assertEquals(List.of("COMMIT"), backend.statements);
        assertEquals(List.of("complete COMMIT"), backend.client);
        assertFalse(boundary.committing());
    }

    @Test
    public void commitOutsideATransactionIsPostgresOwnAnswer() {
        backend.status = 'I';
        backend.script.put("COMMIT", new QueryResult("COMMIT", List.of(), null,
                List.of(ServerError.warning("25P01", "there is no transaction in progress")), 'I'));
        assertTrue(boundary.commitStatement(false, false).join());
        assertEquals(List.of(), handedOver);
        assertEquals(List.of("notice 25P01", "complete COMMIT"), backend.client);
    }

    @Test
    public void aNodeThatRefusesRollsTheTransactionBack() {
        refusal.set(ServerError.error("57P03", "node is not online"));
        assertFalse(boundary.commitStatement(false, false).join());
        assertEquals(List.of(), handedOver);
        assertEquals(List.of("ROLLBACK"), backend.statements);
        assertEquals(List.of("error 57P03 node is not online"), backend.client);
    }

    @Test
    public void aCommitterThatLeavesTheTransactionOpenIsRolledBack() {
        committer = tx -> CompletableFuture.completedFuture(CommitOutcome.committed());
        assertFalse(boundary.commitStatement(false, false).join());
        assertEquals(List.of("ROLLBACK"), backend.statements);
        assertEquals(List.of("error XX000 [multimaster] the transaction was not committed"), backend.client);
    }

    @Test
    public void aCommitterThatFailsIsReportedAndTheTransactionRolledBack() {
        committer = tx -> CompletableFuture.failedFuture(new IllegalStateException("boom"));
        assertFalse(boundary.commitStatement(false, false).join());
        assertEquals(List.of("ROLLBACK"), backend.statements);
        assertEquals(1, backend.client.size());
        assertTrue(backend.client.get(0), backend.client.get(0).startsWith("error XX000 [multimaster] commit failed"));
    }

    @Test
    public void theCommittersRefusalIsTheClientsError() {
        committer = tx -> tx.execute("ROLLBACK").thenApply(r -> CommitOutcome.failed(ServerError.error("40001", "vote: no")));
        assertFalse(boundary.commitStatement(false, false).join());
        assertEquals(List.of("error 40001 vote: no"), backend.client);
    }

    @Test
    public void standInsOnCommitActionsRunFirstInsideTheTransaction() {
        boundary.onCommitActions().put("t1", TempStandIns.OnCommit.DROP);
        boundary.onCommitActions().put("t2", TempStandIns.OnCommit.DELETE_ROWS);
        String actions = TempStandIns.onCommitSql(boundary.onCommitActions());
        assertTrue(boundary.commitStatement(false, false).join());
        assertEquals(List.of(actions, "COMMIT"), backend.statements);
        assertEquals("dropped tables are gone, DELETE ROWS ones stay", List.of("t2"),
                List.copyOf(boundary.onCommitActions().keySet()));
    }

    @Test
    public void aFailedOnCommitActionRollsBackWithoutTheGatewaysContext() {
        boundary.onCommitActions().put("t1", TempStandIns.OnCommit.DELETE_ROWS);
        backend.script.put(TempStandIns.onCommitSql(boundary.onCommitActions()),
                new QueryResult(null, List.of(), new ServerError("ERROR", "0A000",
                        "unsupported ON COMMIT and foreign key combination", null, null, Map.of('W', "PL/pgSQL block")),
                        List.of(), 'E'));
        assertFalse(boundary.commitStatement(false, false).join());
        assertEquals(List.of(), handedOver);
        assertEquals("ROLLBACK", backend.statements.get(1));
        assertEquals(List.of("error 0A000 unsupported ON COMMIT and foreign key combination"), backend.client);
    }

    @Test
    public void aReadOnlyWrappedTransactionCommitsWithoutTheClientWaiting() {
        CompletableFuture<QueryResult> quick = CompletableFuture.completedFuture(rows(null, "f", "read committed", "f"));
        boundary.implicitCommit(false, quick).join();
        assertEquals(1, backend.unawaitedCommits);
        assertEquals(List.of(), handedOver);
        assertEquals(List.of(), backend.client);
    }

    @Test
    public void aWrappedTransactionThatWroteIsTheCommittersAndItsFailureTheStatementsError() {
        CompletableFuture<QueryResult> quick = CompletableFuture.completedFuture(rows("1234", "f", "read committed", "f"));
        committer = tx -> {
            handedOver.add(tx.implicit());
            return tx.execute("ROLLBACK").thenApply(r -> CommitOutcome.failed(ServerError.error("40001", "conflict")));
        };
        boundary.implicitCommit(true, quick).join();
        assertEquals(0, backend.unawaitedCommits);
        assertEquals(List.of(true), handedOver);
        assertEquals(List.of("held complete dropped", "error 40001 conflict"), backend.client);
    }

    @Test
    public void aFailedWrappedTransactionIsRolledBackQuietly() {
        backend.status = 'E';
        boundary.implicitCommit(false, null).join();
        assertEquals(List.of("ROLLBACK"), backend.statements);
        assertEquals(List.of(), backend.client);
    }

    @Test
    public void commitAndChainInTheGatewaysBlockIsRefusedAndTheBlockRolledBack() {
        assertFalse(boundary.commitStatement(true, true).join());
        assertEquals(List.of("ROLLBACK"), backend.statements);
        assertEquals(List.of("error 25P01 COMMIT AND CHAIN can only be used in transaction blocks"), backend.client);
    }

    @Test
    public void commitAndChainBeginsTheNextTransactionLikeTheLast() {
        String start = "START TRANSACTION ISOLATION LEVEL serializable, READ ONLY, NOT DEFERRABLE";
        committer = tx -> {
            handedOver.add(tx.implicit());
            return tx.execute("COMMIT").thenApply(r -> CommitOutcome.committed());
        };
        AtomicReference<String> chainQuery = new AtomicReference<>();
        FakeBackend b = backend;
        b.script.clear();
        CommitBoundary chained = new CommitBoundary(new FakeBackend() {
            {
                status = 'T';
            }

            @Override
            public CompletableFuture<QueryResult> exchange(String sql) {
                if (sql.startsWith("SELECT 'START TRANSACTION")) {
                    chainQuery.set(sql);
                    b.statements.add("chain characteristics");
                    return CompletableFuture.completedFuture(rows(start));
                }
                CompletableFuture<QueryResult> r = b.exchange(sql);
                status = b.status;
                return r;
            }
        }, b, () -> committer, refusal::get, notes, standInSchema::get);
        assertTrue(chained.commitStatement(false, true).join());
        assertEquals(List.of("chain characteristics", "COMMIT", start, "COMMIT AND CHAIN"), b.statements);
        assertEquals(List.of("complete COMMIT"), b.client);
    }

    @Test
    public void theCommittersViewCarriesTheNotesAndRunsOnTheBackend() {
        AtomicReference<CommitContext> seen = new AtomicReference<>();
        committer = tx -> {
            seen.set(tx);
            return tx.execute("COMMIT").thenApply(r -> CommitOutcome.committed());
        };
        assertTrue(boundary.commitStatement(false, false).join());
        assertEquals(4242, seen.get().session().backendPid());
        assertFalse(seen.get().implicit());
    }

    @Test
    public void commitOfAFailedBlockIsPostgresRollback() {
        backend.status = 'E';
        backend.script.put("COMMIT", new QueryResult("ROLLBACK", List.of(), null, List.of(), 'I'));
        assertTrue(boundary.commitStatement(false, false).join());
        assertEquals("a failed block never reaches the committer", List.of(), handedOver);
        assertEquals(List.of("COMMIT"), backend.statements);
        assertEquals(List.of("complete ROLLBACK"), backend.client);
    }

    @Test
    public void commitAndChainOfAFailedBlockIsPostgresOwn() {
        backend.status = 'E';
        backend.script.put("COMMIT AND CHAIN", new QueryResult("ROLLBACK", List.of(), null, List.of(), 'T'));
        assertTrue(boundary.commitStatement(false, true).join());
        assertEquals(List.of(), handedOver);
        assertEquals("no characteristics asked: PostgreSQL chains a failed block itself", List.of("COMMIT AND CHAIN"),
                backend.statements);
        assertEquals(List.of("complete ROLLBACK"), backend.client);
    }

    @Test
    public void commitInsideTheGatewaysBlockWarnsAsPostgresThenCommits() {
        assertTrue(boundary.commitStatement(true, false).join());
        assertEquals(List.of(false), handedOver);
        assertEquals(List.of("notice 25P01", "complete COMMIT"), backend.client);
    }

    @Test
    public void aClusterAbortReachesTheClientWithItsSqlStateAndTheHeldCompleteIsDropped() {
        committer = tx -> tx.execute("ROLLBACK").thenApply(r -> CommitOutcome.failed(ServerError.error("40P01",
                "[multimaster] deadlock across nodes")));
        boundary.implicitCommit(true, null).join();
        assertEquals(List.of("held complete dropped", "error 40P01 [multimaster] deadlock across nodes"), backend.client);
        assertEquals('I', backend.status);
    }

    @Test
    public void aRefusedStatementFailsTheClientsBlock() {
        ServerError refused = ServerError.error("0A000", "not supported by the cluster");
        boundary.abortStatement(refused, false).join();
        assertEquals(1, backend.statements.size());
        assertTrue(backend.statements.get(0), backend.statements.get(0).startsWith("DO $mtm$BEGIN RAISE EXCEPTION USING "
                + "ERRCODE = '0A000'"));
        assertEquals(List.of("error 0A000 not supported by the cluster"), backend.client);
    }

    @Test
    public void aRefusedStatementInTheGatewaysBlockRollsItBack() {
        boundary.abortStatement(ServerError.error("0A000", "no"), true).join();
        assertEquals(List.of("ROLLBACK"), backend.statements);
        assertEquals('I', backend.status);
        assertEquals(List.of("error 0A000 no"), backend.client);
    }

    @Test
    public void aRefusedStatementOutsideATransactionRunsNothing() {
        backend.status = 'I';
        boundary.abortStatement(ServerError.error("0A000", "no"), false).join();
        assertEquals(List.of(), backend.statements);
        assertEquals(List.of("error 0A000 no"), backend.client);
    }
}
