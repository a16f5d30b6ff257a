package org.mtm.api;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The commit side of the 3-phase commit (DESIGN §2). The gateway drives one transaction through it:
 * <ol>
 * <li>{@link #begin(long)} — refused unless this node is online; stamps the gid with the generation;</li>
 * <li>the gateway runs {@code PREPARE TRANSACTION '<gid>'} locally, then {@link #prepared(Gid)} waits for
 * every generation member's vote and the precommit round, and yields the decision;</li>
 * <li>on commit the gateway runs {@code COMMIT PREPARED} and calls {@link #committed(Gid)} (which completes
 * once live peers acknowledged, with {@code wait_peer_commits}); on abort it runs
 * {@code ROLLBACK PREPARED} and calls {@link #aborted(Gid)}.</li>
 * </ol>
 */
public interface Coordinator {

    /** Registers a transaction about to be prepared; throws when this node may not commit now. */
    Gid begin(long originXid) throws CommitRefusedException;

    /**
     * Completes when {@link #begin} may be called: at once, unless the cluster's commits are held for a moment (a
     * consistent point for {@code mtm.check_query}, {@link CommitHolds}); {@code begin} called while they are held
     * throws {@link CommitsHeldException}, and the caller waits for this again.
     */
    default CompletionStage<Void> admission() {
        return CompletableFuture.completedFuture(null);
    }

    /** Completes with the outcome once every member voted and (if needed) a precommit majority answered. */
    CompletableFuture<Decision> prepared(Gid gid);

    /** The local COMMIT PREPARED is done; completes when the peers acknowledged their commit. */
    CompletableFuture<Void> committed(Gid gid);

    /** The local prepared transaction was rolled back (or PREPARE itself failed); tells the peers. */
    void aborted(Gid gid);

    /** The outcome of the voting: commit, or abort with the SQLSTATE and message to give the client. */
    record Decision(boolean commit, String sqlState, String message) {
        public static final Decision COMMIT = new Decision(true, null, null);

        public static Decision abort(String sqlState, String message) {
            return new Decision(false, sqlState, message);
        }
    }

    /**
     * The decision's future fails with this when the coordinator cannot tell the outcome in time (the transaction is
     * in doubt and the resolver is still deciding it, or the coordinator is stopping): the gateway must leave the
     * prepared transaction alone — the resolver finishes it — and tell the client 08007.
     */
    class OutcomeUnknownException extends Exception {
        private static final long serialVersionUID = 1L;

        public OutcomeUnknownException(String message) {
            super(message);
        }
    }

    /** Commits are held for a moment (see {@link #admission()}): wait for the admission and begin again. */
    class CommitsHeldException extends CommitRefusedException {
        private static final long serialVersionUID = 1L;

        public CommitsHeldException(String message) {
            super("55P03", message);
        }
    }

    /** This node may not commit now (not online, generation changing); carries SQLSTATE and message. */
    class CommitRefusedException extends Exception {
        private static final long serialVersionUID = 1L;
        private final String sqlState;

        public CommitRefusedException(String sqlState, String message) {
            super(message);
            this.sqlState = sqlState;
        }

        public String sqlState() {
            return sqlState;
        }
    }
}
