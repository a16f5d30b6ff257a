package org.mtm.gateway.internal.commit;

import java.util.concurrent.CompletionStage;

/**
 * A transaction the client asked to commit, handed to the {@link TransactionCommitter} with the session's
 * backend connection on loan: while the commit is decided, the client's further messages wait (the gateway
 * stops reading the client socket) and the committer may run statements on the backend with {@link #execute}
 * — PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED, catalog queries.
 */
public interface CommitContext {

    SessionInfo session();

    /**
     * True when the gateway opened this transaction itself around an autocommit statement (DESIGN §2.1):
     * the client never said BEGIN or COMMIT, and a failure is reported as the statement's error.
     */
    boolean implicit();

    /**
     * Runs one statement on the session's backend and completes with its result (an SQL error is a result,
     * not an exceptional completion; the stage fails only when the backend connection is lost). Callable from
     * any thread; statements run in call order.
     */
    CompletionStage<QueryResult> execute(String sql);

    /**
     * Runs a statement on a connection of its own, not the session's: for COMMIT/ROLLBACK PREPARED when the
     * session's backend connection was lost after PREPARE TRANSACTION (the prepared transaction outlives it).
     */
    CompletionStage<QueryResult> executeDetached(String sql);

    /**
     * Finishes a prepared transaction ({@code COMMIT PREPARED '<gid>'} or {@code ROLLBACK PREPARED '<gid>'}):
     * on the session's backend, or on a connection of its own when the session's is gone.
     */
    default CompletionStage<QueryResult> finishPrepared(String sql) {
        return execute(sql).handle((r, lost) -> lost == null
                ? java.util.concurrent.CompletableFuture.completedFuture(r) : executeDetached(sql))
                .thenCompose(java.util.function.Function.identity());
    }

    /**
     * What the transaction did that decides how it commits ({@link Footprint}: xid, temporary objects,
     * LISTEN/NOTIFY, replicated changes). The session's implementation adds what the gateway saw (statements,
     * DDL messages) and may have fetched the quick part already, in the same round trip as the last statement.
     */
    default CompletionStage<Footprint> footprint() {
        return execute(footprintQueries().quick(Footprint.Notes.UNKNOWN))
                .thenCompose(r -> Footprint.of(this, Footprint.Quick.of(r), Footprint.Notes.UNKNOWN));
    }

    /** The footprint's statements as this session sends them: as text, or as calls of the node's functions. */
    default FootprintQueries footprintQueries() {
        return FootprintQueries.INLINE;
    }

    /**
     * The transaction's xid if it has one: {@code pg_current_xact_id_if_assigned()} — null for a transaction
     * that wrote nothing (read-only: it commits locally, with no cluster round trip).
     */
    default CompletionStage<Long> assignedXid() {
        return footprint().thenApply(Footprint::xid);
    }
}
