package org.mtm.gateway.internal.commit;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

import org.mtm.api.Gid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shape of the cluster's commit (DESIGN §2.2), with the decision left to a {@link Decider}: a transaction
 * without an xid (or with only local work, see {@link Footprint}) commits locally, one that mixes temporary
 * objects or LISTEN/NOTIFY with replicated changes is refused; otherwise {@code PREPARE TRANSACTION 'MTM-<node>-<xid>-<gen>'}, ask the
 * decider (asynchronously — the coordinator's votes and precommit round), then {@code COMMIT PREPARED} or
 * {@code ROLLBACK PREPARED}. The coordinator can implement {@link TransactionCommitter} itself or plug in
 * here as the decider.
 */
public final class TwoPhaseCommitter implements TransactionCommitter {
    private static final Logger LOG = LoggerFactory.getLogger(TwoPhaseCommitter.class);

    /** Decides a locally prepared transaction's outcome. */
    @FunctionalInterface
    public interface Decider {
        /** Completes with null to commit, or with the error the client gets after ROLLBACK PREPARED. */
        CompletionStage<ServerError> decide(Gid gid, CommitContext transaction);
    }

    private final IntSupplier nodeId;
    private final LongSupplier generation;
    private final Decider decider;

    public TwoPhaseCommitter(IntSupplier nodeId, LongSupplier generation, Decider decider) {
        this.nodeId = nodeId;
        this.generation = generation;
        this.decider = decider;
    }

    @Override
    public CompletionStage<CommitOutcome> commit(CommitContext tx) {
        return tx.footprint().thenCompose(footprint -> {
            switch (footprint.route()) {
                case LOCAL -> {
                    // read-only, or only local work: nothing to replicate, no cluster round trip
                    return new LocalCommitter().commit(tx);
                }
                case REFUSE -> {
                    return tx.execute("ROLLBACK").thenApply(r -> CommitOutcome.failed(footprint.refusal()));
                }
                default -> { }
            }
            long xid = footprint.xid();
            Gid gid = new Gid(nodeId.getAsInt(), xid, generation.getAsLong());
            String literal = "'" + gid + "'";
            return Footprint.prepare(tx, literal).thenCompose(prepared -> {
                if (!prepared.ok()) {
                    // a failed PREPARE has rolled the transaction back
                    return CompletableFuture.completedFuture(CommitOutcome.failed(Footprint.prepareRefused(prepared.error())));
                }
                return decide(gid, tx).thenCompose(abortReason -> abortReason == null
                        ? tx.finishPrepared("COMMIT PREPARED " + literal).thenApply(done -> committed(gid, done))
                        : tx.finishPrepared("ROLLBACK PREPARED " + literal).thenApply(done -> aborted(gid, done, abortReason)));
            });
        });
    }

    private CompletionStage<ServerError> decide(Gid gid, CommitContext tx) {
        CompletionStage<ServerError> decision;
        try {
            decision = decider.decide(gid, tx);
        } catch (RuntimeException e) {
            decision = CompletableFuture.failedFuture(e);
        }
        return decision.handle((reason, failure) -> {
            if (failure != null) {
                LOG.warn("commit decision for {} failed, rolling it back", gid, failure);
                return ServerError.error(SqlStates.INTERNAL_ERROR,
                        "[multimaster] could not decide the commit of " + gid + ": " + failure.getMessage());
            }
            return reason;
        });
    }

    private static CommitOutcome committed(Gid gid, QueryResult done) {
        if (done.ok()) {
            return CommitOutcome.committed();
        }
        LOG.error("COMMIT PREPARED {} failed after the decision to commit: {}", gid, done.error());
        return CommitOutcome.failed(new ServerError("ERROR", SqlStates.TRANSACTION_RESOLUTION_UNKNOWN,
                "[multimaster] commit of " + gid + " was decided but COMMIT PREPARED failed: "
                        + done.error().message(), null, "The transaction stays prepared until it is resolved."));
    }

    private static CommitOutcome aborted(Gid gid, QueryResult done, ServerError reason) {
        if (!done.ok()) {
            LOG.error("ROLLBACK PREPARED {} failed: {}", gid, done.error());
        }
        return CommitOutcome.failed(reason);
    }
}
