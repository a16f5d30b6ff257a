package org.mtm.api;

import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * A point of the cluster's commit order at which every node holds the same committed distributed transactions
 * ({@code mtm.check_query}, {@code mtm.get_snapshots}): new commits are held back on every node of the current
 * generation, and the point is reached once none of them has a commit between its {@code begin} and the end of its
 * commit on every peer. Snapshots taken on every node while the hold lasts see the same distributed transactions.
 */
public interface CommitHolds {

    /**
     * Holds commits on this node and every other member of its current generation; completes once all of them have
     * drained. The hold ends when closed, or by itself after {@code maxHold} on every node (a caller that dies does not
     * stop the cluster). Fails with a {@link ClusterAdminException} (55P03) naming the nodes that did not drain or
     * answer within {@code maxHold}; 55000 when this node is not online.
     */
    CompletionStage<Hold> holdCommits(Duration maxHold);

    /** A hold in force; closing it lets commits go on everywhere. */
    interface Hold extends AutoCloseable {
        /** The nodes holding their commits (the generation's members, this node included). */
        NodeSet nodes();

        @Override
        void close();
    }
}
