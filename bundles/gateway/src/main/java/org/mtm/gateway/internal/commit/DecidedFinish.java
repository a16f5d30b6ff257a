package org.mtm.gateway.internal.commit;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import org.mtm.api.Gid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code COMMIT PREPARED} after a decision to commit, or {@code ROLLBACK PREPARED} after one to abort, while the
 * resolver may finish the same gid from another connection. The decision is unique, so whoever finishes the
 * transaction finishes it the same way:
 * <ul>
 * <li>42704 (no prepared transaction with that gid): finished already — done;</li>
 * <li>55000 ("prepared transaction ... is busy"): another session is finishing it right now — asked again,
 * with growing pauses, for up to {@code patience}; then the error stands;</li>
 * <li>any other error, or no connection to PostgreSQL: not done, the caller reports it.</li>
 * </ul>
 */
final class DecidedFinish {
    private static final Logger LOG = LoggerFactory.getLogger(DecidedFinish.class);
    private static final long FIRST_PAUSE_MILLIS = 5;
    private static final long LONGEST_PAUSE_MILLIS = 200;

    private final CommitContext tx;
    private final Gid gid;
    private final String sql;
    private final long deadline;

    private DecidedFinish(CommitContext tx, Gid gid, String sql, Duration patience) {
        this.tx = tx;
        this.gid = gid;
        this.sql = sql;
        this.deadline = System.nanoTime() + patience.toNanos();
    }

    /** Completes with null once the transaction is finished (here or by another session), else with the error. */
    static CompletionStage<ServerError> commit(CommitContext tx, Gid gid, Duration patience) {
        return new DecidedFinish(tx, gid, "COMMIT PREPARED '" + gid + "'", patience).attempt(FIRST_PAUSE_MILLIS);
    }

    static CompletionStage<ServerError> rollback(CommitContext tx, Gid gid, Duration patience) {
        return new DecidedFinish(tx, gid, "ROLLBACK PREPARED '" + gid + "'", patience).attempt(FIRST_PAUSE_MILLIS);
    }

    private CompletionStage<ServerError> attempt(long pauseMillis) {
        return tx.finishPrepared(sql).handle((r, lost) -> lost == null ? r : null).thenCompose(r -> {
            if (r == null) {
                // neither the session's connection nor one of its own reached PostgreSQL
                return CompletableFuture.completedFuture(ServerError.error(SqlStates.CONNECTION_FAILURE,
                        "connection to the local PostgreSQL lost"));
            }
            if (r.ok()) {
                return CompletableFuture.completedFuture(null);
            }
            String state = r.error().sqlState();
            if (SqlStates.UNDEFINED_OBJECT.equals(state)) {
                LOG.debug("{}: {} was finished by another session (the resolver)", sql, gid);
                return CompletableFuture.completedFuture(null);
            }
            if (SqlStates.OBJECT_NOT_IN_PREREQUISITE_STATE.equals(state) && System.nanoTime() - deadline < 0) {
                LOG.debug("{}: another session is finishing it; asking again in {} ms", sql, pauseMillis);
                return CompletableFuture.runAsync(() -> { },
                                CompletableFuture.delayedExecutor(pauseMillis, TimeUnit.MILLISECONDS))
                        .thenCompose(v -> attempt(Math.min(LONGEST_PAUSE_MILLIS, pauseMillis * 2)));
            }
            return CompletableFuture.completedFuture(r.error());
        });
    }
}
