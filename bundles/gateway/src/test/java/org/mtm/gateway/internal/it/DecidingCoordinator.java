package org.mtm.gateway.internal.it;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.mtm.api.Coordinator;
import org.mtm.api.Gid;
import org.mtm.gateway.internal.commit.ServerError;

/**
 * A coordinator of one node in a fixed generation whose decision comes from the test ({@link Decider}): stands in
 * for the peers' votes behind the gateway's one committer, {@code CoordinatedCommitter}.
 */
final class DecidingCoordinator implements Coordinator {
    /** Decides a locally prepared transaction: completes with null to commit, or with the abort's error. */
    @FunctionalInterface
    interface Decider {
        CompletionStage<ServerError> decide(Gid gid);
    }

    private final int node;
    private final long generation;
    private final Decider decider;

    DecidingCoordinator(int node, long generation, Decider decider) {
        this.node = node;
        this.generation = generation;
        this.decider = decider;
    }

    @Override
    public Gid begin(long originXid) {
        return new Gid(node, originXid, generation);
    }

    @Override
    public CompletableFuture<Decision> prepared(Gid gid) {
        return decider.decide(gid).toCompletableFuture()
                .thenApply(abort -> abort == null ? Decision.COMMIT : Decision.abort(abort.sqlState(), abort.message()));
    }

    @Override
    public CompletableFuture<Void> committed(Gid gid) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public void aborted(Gid gid) {
    }
}
