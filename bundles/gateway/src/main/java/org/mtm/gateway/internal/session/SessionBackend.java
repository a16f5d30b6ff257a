package org.mtm.gateway.internal.session;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

import org.mtm.gateway.internal.commit.QueryResult;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SessionInfo;

/**
 * What the gateway's own steps ({@link CommitBoundary}) need of a session: its backend connection at a Sync point
 * and the transaction status it last reported. The session implements it over its channels; unit tests with a fake.
 * Event loop only, except {@link #eventLoop()}.
 */
interface SessionBackend {

    SessionInfo info();

    /** The transaction status of the backend's last ReadyForQuery ('I', 'T', 'E'). */
    char transactionStatus();

    /** The session is closed (its connections are gone or going). */
    boolean closed();

    /** The session's event loop, where all of its state lives. */
    Executor eventLoop();

    boolean inEventLoop();

    /**
     * Runs one statement of the gateway's own (extended protocol, with Sync) and completes with its result; an SQL
     * error is a result, the stage fails only when the connection is lost.
     */
    CompletableFuture<QueryResult> exchange(String sql);

    /** {@link #exchange} as a simple Query: only where a client's simple Query would drop the unnamed statement anyway. */
    CompletableFuture<QueryResult> exchangeSimple(String sql);

    /**
     * COMMIT of a transaction that wrote nothing, not waited for: its ReadyForQuery will say 'I', which the session
     * assumes from now on (the client's next request queues behind it on the same connection).
     */
    void commitUnawaited(boolean simpleQuery);

    /** A statement on a connection of its own (COMMIT/ROLLBACK PREPARED after the session's connection was lost). */
    CompletionStage<QueryResult> executeDetached(String sql);

    /** The footprint's statements as sent to this backend's server: as text, or as calls of its functions. */
    default org.mtm.gateway.internal.commit.FootprintQueries footprintQueries() {
        return org.mtm.gateway.internal.commit.FootprintQueries.INLINE;
    }

    /** The gateway's answers to the client, written in order with what the backend relays. */
    interface ClientAnswers {
        void error(ServerError e);

        void notice(ServerError e);

        void commandComplete(String tag);

        /** The held CommandComplete of the query's last statement is dropped (its commit failed). */
        void dropHeldComplete();

        void flush();
    }
}
