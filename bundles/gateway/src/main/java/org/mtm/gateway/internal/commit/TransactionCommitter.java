package org.mtm.gateway.internal.commit;

import java.util.concurrent.CompletionStage;

/**
 * Decides how a transaction commits. The gateway calls it when the client commits a transaction the
 * backend reports as open (ReadyForQuery 'T'): simple-protocol COMMIT/END (alone or inside a multi-statement
 * query), an extended-protocol Execute of COMMIT/END, and — with autocommit wrapping on — the implicit commit
 * of an autocommit statement. It is never called for a failed transaction ('E': the gateway runs the
 * client's COMMIT, which rolls back) nor outside a transaction.
 *
 * <p>The gateway's one implementation is {@link CoordinatedCommitter} (local COMMIT before {@code init_cluster} and
 * for transactions without replicated changes; otherwise PREPARE TRANSACTION, the coordinator's decision, COMMIT
 * or ROLLBACK PREPARED); this interface is the seam between the session and it. The returned stage may complete on
 * any thread.
 */
public interface TransactionCommitter {

    CompletionStage<CommitOutcome> commit(CommitContext transaction);
}
