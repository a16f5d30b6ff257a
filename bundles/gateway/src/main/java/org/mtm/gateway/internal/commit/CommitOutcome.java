package org.mtm.gateway.internal.commit;

/**
 * How a commit ended. {@link #committed()}: the client gets CommandComplete "COMMIT". {@link #failed}: the
 * client gets the error (e.g. a peer's 40001, or 08007 when the outcome is unknown); the committer must have
 * ended the transaction on the backend (ROLLBACK [PREPARED]) — if the backend still reports a transaction,
 * the gateway rolls it back.
 */
public final class CommitOutcome {
    private static final CommitOutcome COMMITTED = new CommitOutcome(null);

    private final ServerError error;

    private CommitOutcome(ServerError error) {
        this.error = error;
    }

    public static CommitOutcome committed() {
        return COMMITTED;
    }

    public static CommitOutcome failed(ServerError error) {
        if (error == null) {
            throw new IllegalArgumentException("a failed commit needs the error the client will see");
        }
        return new CommitOutcome(error);
    }

    public boolean isCommitted() {
        return error == null;
    }

    /** The error for the client, null when committed. */
    public ServerError error() {
        return error;
    }

    @Override
    public String toString() {
        return error == null ? "committed" : "failed: " + error;
    }
}
