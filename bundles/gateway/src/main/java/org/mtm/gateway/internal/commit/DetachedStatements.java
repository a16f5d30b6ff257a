package org.mtm.gateway.internal.commit;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Runs a statement on a connection of its own, outside any client session. A prepared transaction outlives
 * its session (DESIGN §2, hard points): when a session's backend connection is lost after PREPARE
 * TRANSACTION, the committer finishes with COMMIT/ROLLBACK PREPARED here.
 */
@FunctionalInterface
public interface DetachedStatements {
    DetachedStatements NONE = sql -> CompletableFuture.failedFuture(
            new IllegalStateException("no connection outside the session is configured"));

    /** Completes with the result (an SQL error is a result); fails only when no connection could be made. */
    CompletionStage<QueryResult> execute(String sql);
}
