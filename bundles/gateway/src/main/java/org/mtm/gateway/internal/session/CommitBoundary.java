package org.mtm.gateway.internal.session;

import java.util.LinkedHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

import org.mtm.gateway.internal.commit.CommitContext;
import org.mtm.gateway.internal.commit.CommitOutcome;
import org.mtm.gateway.internal.commit.Footprint;
import org.mtm.gateway.internal.commit.QueryResult;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SessionInfo;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.commit.TransactionCommitter;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.gateway.internal.sql.TempStandIns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The commit boundary of a session: where the client's COMMIT (or the implicit commit of a transaction the gateway
 * opened around autocommit work) leaves the relay and goes to the committer, and the answer comes back — reply
 * included (CommandComplete, NOTICEs of deferred triggers, or the error). In order: the ON COMMIT actions of the
 * session's stand-ins, the node's admission, {@link TransactionCommitter#commit} with this session's
 * {@link CommitContext}, and a ROLLBACK should the committer leave the transaction open. A read-only transaction the
 * gateway opened commits without the client waiting.
 *
 * <p>Runs on the session's event loop, against the {@link SessionBackend} (the session's backend at a Sync point,
 * and the client's answers): unit-tested with a fake one.
 */
final class CommitBoundary {
    private static final Logger LOG = LoggerFactory.getLogger(CommitBoundary.class);

    private final SessionBackend backend;
    private final SessionBackend.ClientAnswers client;
    private final Supplier<TransactionCommitter> committer;
    /** The node's admission of this session now: null, or why it refuses. */
    private final Supplier<ServerError> admission;
    private final TransactionNotes notes;
    /** The session's stand-in schema, null while it has none. */
    private final Supplier<String> standInSchema;
    /** Stand-ins with ON COMMIT DROP or DELETE ROWS, carried out before each commit. */
    private final LinkedHashMap<String, TempStandIns.OnCommit> onCommit = new LinkedHashMap<>();
    /** The committer is running: a CancelRequest must not hit its statements. */
    private int committing;

    CommitBoundary(SessionBackend backend, SessionBackend.ClientAnswers client, Supplier<TransactionCommitter> committer,
                   Supplier<ServerError> admission, TransactionNotes notes, Supplier<String> standInSchema) {
        this.backend = backend;
        this.client = client;
        this.committer = committer;
        this.admission = admission;
        this.notes = notes;
        this.standInSchema = standInSchema;
    }

    /** The stand-ins' ON COMMIT actions (DROP, DELETE ROWS) by table, edited by the session as stand-ins come and go. */
    LinkedHashMap<String, TempStandIns.OnCommit> onCommitActions() {
        return onCommit;
    }

    /** Whether the committer is running (a cancel request would hit the gateway's statements). */
    boolean committing() {
        return committing > 0;
    }

    private static CompletableFuture<Void> done() {
        return CompletableFuture.completedFuture(null);
    }

    /**
     * The client's COMMIT/END [AND CHAIN], reply included (CommandComplete or ErrorResponse; no ReadyForQuery).
     * Completes with false after an error. With {@code chain}, once committed by the cluster a new transaction
     * begins with the same isolation level, read-only and deferrable settings, as PostgreSQL's AND CHAIN does.
     */
    CompletableFuture<Boolean> commitStatement(boolean emulatedBlock, boolean chain) {
        if (chain && emulatedBlock) {
            return abortStatement(ServerError.error(SqlStates.NO_ACTIVE_TRANSACTION,
                    "COMMIT AND CHAIN can only be used in transaction blocks"), true).thenApply(v -> false);
        }
        if (chain && backend.transactionStatus() == 'T') {
            return backend.exchange(CHAIN_CHARACTERISTICS).thenCompose(r -> {
                if (!r.ok()) {
                    client.error(r.error());
                    return CompletableFuture.completedFuture(false);
                }
                return commitStatement(false, false, r.singleValue());
            });
        }
        return commitStatement(emulatedBlock, chain, null);
    }

    /**
     * The statements that begin a transaction like the current one (for COMMIT AND CHAIN). Not START TRANSACTION
     * with the characteristics alone: PostgreSQL sets those as settings of the transaction, which an error in it
     * undoes, so an AND CHAIN after a failed statement would chain the session's defaults. The empty transaction's own
     * COMMIT AND CHAIN carries them over as PostgreSQL's chaining does, and then they outlive an error as they do
     * there ({@code transactions} of the regression suite: COMMIT AND CHAIN in TBLOCK_ABORT_END).
     */
    private static final String CHAIN_CHARACTERISTICS = "SELECT 'START TRANSACTION ISOLATION LEVEL '"
            + " OPERATOR(pg_catalog.||) pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.||)"
            + " CASE WHEN pg_catalog.current_setting('transaction_read_only')::pg_catalog.bool THEN ', READ ONLY'"
            + " ELSE ', READ WRITE' END OPERATOR(pg_catalog.||)"
            + " CASE WHEN pg_catalog.current_setting('transaction_deferrable')::pg_catalog.bool THEN ', DEFERRABLE'"
            + " ELSE ', NOT DEFERRABLE' END";

    /**
     * {@link #commitStatement(boolean, boolean)} once the chained transaction's {@code start} statement is known
     * (null: none to begin).
     */
    private CompletableFuture<Boolean> commitStatement(boolean emulatedBlock, boolean chain, String start) {
        if (backend.transactionStatus() != 'T') {
            // no open transaction, or a failed one: PostgreSQL's own answer is right (a warning, or ROLLBACK —
            // and AND CHAIN of a failed block begins the next one by itself)
            return backend.exchange(chain ? "COMMIT AND CHAIN" : "COMMIT").thenApply(r -> {
                r.notices().forEach(client::notice);
                if (r.ok()) {
                    client.commandComplete(r.commandTag());
                } else {
                    client.error(r.error());
                }
                return r.ok();
            });
        }
        if (emulatedBlock) {
            // what PostgreSQL says for COMMIT inside a multi-statement query without BEGIN, before it commits (the
            // commit's own NOTICEs and error follow)
            client.notice(ServerError.warning(SqlStates.NO_ACTIVE_TRANSACTION, "there is no transaction in progress"));
        }
        return runCommitter(false, null).thenCompose(outcome -> {
            if (!outcome.isCommitted()) {
                client.error(outcome.error());
                return CompletableFuture.completedFuture(false);
            }
            if (start == null) {
                client.commandComplete("COMMIT");
                return CompletableFuture.completedFuture(true);
            }
            // one round trip; should the START fail, its error is the one to report
            CompletableFuture<QueryResult> begun = backend.exchange(start);
            CompletableFuture<QueryResult> chained = backend.exchange("COMMIT AND CHAIN");
            return begun.thenCombine(chained, (b, c) -> b.ok() ? c : b).thenApply(r -> {
                if (!r.ok()) {
                    client.error(r.error());
                    return false;
                }
                client.commandComplete("COMMIT");
                return true;
            });
        });
    }

    /**
     * The commit of a transaction the gateway opened around autocommit statements. A read-only one (no xid,
     * as the quick query sent with its last statement says) commits without the client waiting: COMMIT of a
     * transaction without an xid cannot fail (SERIALIZABLE excepted), and the client's next request queues
     * behind it on the same connection.
     */
    CompletableFuture<Void> implicitCommit(boolean simpleQuery, CompletableFuture<QueryResult> quick) {
        if (backend.transactionStatus() == 'T') {
            if (quick == null) {
                return committed(runCommitter(true, null));
            }
            return quick.handle((r, failure) -> failure == null && r.ok() ? Footprint.Quick.of(r) : null).thenCompose(q -> {
                if (q != null && q.xid() == null && !q.serializable() && backend.transactionStatus() == 'T') {
                    backend.commitUnawaited(simpleQuery);
                    return done();
                }
                return committed(runCommitter(true, quick));
            });
        }
        if (backend.transactionStatus() == 'E') {
            return backend.exchange("ROLLBACK").thenApply(r -> null);
        }
        return done();
    }

    private CompletableFuture<Void> committed(CompletableFuture<CommitOutcome> commit) {
        return commit.thenAccept(outcome -> {
            if (!outcome.isCommitted()) {
                client.dropHeldComplete(); // as PostgreSQL: the statement's CommandComplete never came, the commit's error did
                client.error(outcome.error());
            }
        });
    }

    /**
     * Asks the committer; afterwards the backend has no open transaction, whatever the committer did. The ON COMMIT
     * actions of the session's stand-ins for temporary tables come first, inside the transaction.
     */
    private CompletableFuture<CommitOutcome> runCommitter(boolean implicit, CompletableFuture<QueryResult> quick) {
        return runCommitterWithOnCommit(implicit, quick).thenApply(this::standInHint);
    }

    /**
     * A peer could not find a relation: in a session with stand-ins of temporary tables, most likely a statement
     * the other nodes re-run as text (CREATE TABLE ... AS, CREATE VIEW) read one, which exists on this node only.
     */
    private CommitOutcome standInHint(CommitOutcome outcome) {
        ServerError e = outcome.error();
        if (outcome.isCommitted() || e == null || standInSchema.get() == null || !"42P01".equals(e.sqlState()) || e.hint() != null) {
            return outcome;
        }
        return CommitOutcome.failed(new ServerError(e.severity(), e.sqlState(), e.message(), e.detail(),
                "Temporary tables are on this node only: DDL the other nodes run as text (CREATE TABLE ... AS, CREATE VIEW) "
                        + "cannot read them. Create the table first, then INSERT ... SELECT from the temporary table.",
                e.more()));
    }

    private CompletableFuture<CommitOutcome> runCommitterWithOnCommit(boolean implicit, CompletableFuture<QueryResult> quick) {
        if (onCommit.isEmpty() || backend.transactionStatus() != 'T') {
            return runCommitterNow(implicit, quick);
        }
        String sql = TempStandIns.onCommitSql(onCommit);
        onCommit.values().removeIf(a -> a == TempStandIns.OnCommit.DROP);
        return backend.exchange(sql).thenCompose(r -> {
            if (r.ok()) {
                return runCommitterNow(implicit, quick);
            }
            ServerError e = r.error(); // as PostgreSQL's commit says it: without the CONTEXT of the gateway's DO block
            return backend.exchange("ROLLBACK").thenApply(x -> CommitOutcome.failed(
                    new ServerError(e.severity(), e.sqlState(), e.message(), e.detail(), e.hint())));
        });
    }

    private CompletableFuture<CommitOutcome> runCommitterNow(boolean implicit, CompletableFuture<QueryResult> quick) {
        // a COMMIT the client sent before disconnecting is still carried out, as PostgreSQL would
        ServerError refusal = admission.get();
        if (refusal != null) {
            return backend.exchange("ROLLBACK").thenApply(r -> CommitOutcome.failed(refusal));
        }
        CompletionStage<CommitOutcome> decided;
        committing++;
        try {
            decided = committer.get().commit(new Transaction(implicit, quick, notes.footprintNotes()));
        } catch (RuntimeException e) {
            decided = CompletableFuture.failedFuture(e);
        }
        return decided.toCompletableFuture()
                .handleAsync((outcome, failure) -> {
                    committing--;
                    if (failure != null) {
                        LOG.warn("commit of session {} failed in the committer", backend.info().backendPid(), failure);
                        return CommitOutcome.failed(ServerError.error(SqlStates.INTERNAL_ERROR,
                                "[multimaster] commit failed: " + failure));
                    }
                    return outcome;
                }, backend.eventLoop())
                .thenCompose(outcome -> {
                    if (backend.transactionStatus() == 'I' || backend.closed()) {
                        return CompletableFuture.completedFuture(outcome);
                    }
                    LOG.error("committer left session {} in transaction status {} ({}); rolling back", backend.info().backendPid(),
                            backend.transactionStatus(), outcome);
                    return backend.exchange("ROLLBACK").thenApply(r -> outcome.isCommitted()
                            ? CommitOutcome.failed(ServerError.error(SqlStates.INTERNAL_ERROR,
                                    "[multimaster] the transaction was not committed"))
                            : outcome);
                });
    }

    /**
     * The client's statement is refused with {@code error} (sent here). An open transaction becomes failed,
     * as after any error in a block, so nothing the client sends next runs outside it by surprise; a block
     * the gateway opened itself is rolled back (PostgreSQL's implicit block would be).
     */
    CompletableFuture<Void> abortStatement(ServerError error, boolean emulatedBlock) {
        CompletableFuture<QueryResult> end;
        if (emulatedBlock && backend.transactionStatus() != 'I') {
            end = backend.exchange("ROLLBACK");
        } else if (backend.transactionStatus() == 'T') {
            end = backend.exchange("DO $mtm$BEGIN RAISE EXCEPTION USING ERRCODE = '" + error.sqlState() + "', MESSAGE = "
                    + PgWire.literal(error.message()) + "; END$mtm$");
        } else {
            end = CompletableFuture.completedFuture(null);
        }
        return end.thenRun(() -> client.error(error));
    }

    /** The committer's view of this session's transaction. */
    private final class Transaction implements CommitContext {
        private final boolean implicit;
        private final CompletableFuture<QueryResult> quick;
        private final Footprint.Notes notes;

        Transaction(boolean implicit, CompletableFuture<QueryResult> quick, Footprint.Notes notes) {
            this.implicit = implicit;
            this.quick = quick;
            this.notes = notes;
        }

        @Override
        public SessionInfo session() {
            return backend.info();
        }

        @Override
        public boolean implicit() {
            return implicit;
        }

        /** With what the gateway saw (LISTEN/NOTIFY, DDL messages, temporary DDL); the quick query maybe already sent. */
        @Override
        public CompletionStage<Footprint> footprint() {
            CompletionStage<QueryResult> q = quick == null ? execute(footprintQueries().quick(notes))
                    : quick.handle((r, failure) -> failure == null && r.ok() ? CompletableFuture.completedFuture(r)
                            : execute(footprintQueries().quick())).thenCompose(f -> f);
            return q.thenCompose(r -> Footprint.of(this, Footprint.Quick.of(r), notes));
        }

        @Override
        public CompletionStage<QueryResult> executeDetached(String sql) {
            return backend.executeDetached(sql);
        }

        @Override
        public org.mtm.gateway.internal.commit.FootprintQueries footprintQueries() {
            return backend.footprintQueries();
        }

        @Override
        public CompletionStage<QueryResult> execute(String sql) {
            if (backend.inEventLoop()) {
                return exchangeForClient(sql);
            }
            CompletableFuture<QueryResult> f = new CompletableFuture<>();
            backend.eventLoop().execute(() -> exchangeForClient(sql).whenComplete((r, e) -> {
                if (e != null) {
                    f.completeExceptionally(e);
                } else {
                    f.complete(r);
                }
            }));
            return f;
        }
    }

    /**
     * A committer's statement. COMMIT and PREPARE TRANSACTION fire the transaction's deferred triggers and
     * constraint checks: their NOTICEs and WARNINGs belong to the client's COMMIT (PostgreSQL sends them before
     * its CommandComplete, and so does the gateway: the client's answer waits for the committer).
     */
    private CompletableFuture<QueryResult> exchangeForClient(String sql) {
        CompletableFuture<QueryResult> r = backend.exchange(sql);
        if (!firesDeferred(sql)) {
            return r;
        }
        return r.thenApply(result -> {
            if (!result.notices().isEmpty() && !backend.closed()) {
                result.notices().forEach(client::notice);
                client.flush();
            }
            return result;
        });
    }

    /** Statements of a committer that run the client's deferred triggers (COMMIT PREPARED runs none). */
    static boolean firesDeferred(String sql) {
        return sql.equals("COMMIT") || sql.startsWith("PREPARE TRANSACTION ");
    }
}
