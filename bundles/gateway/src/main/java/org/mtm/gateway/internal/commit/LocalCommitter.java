package org.mtm.gateway.internal.commit;

import java.util.concurrent.CompletionStage;

/** Commits on the local PostgreSQL only: the gateway before the cluster's coordinator is plugged in. */
public final class LocalCommitter implements TransactionCommitter {

    @Override
    public CompletionStage<CommitOutcome> commit(CommitContext transaction) {
        return transaction.execute("COMMIT")
                .thenApply(r -> r.ok() ? CommitOutcome.committed() : CommitOutcome.failed(r.error()));
    }
}
