package org.mtm.consensus.internal;

/**
 * This node's commits as a cluster-wide commit hold sees them ({@link CommitHoldService}); the coordinator implements
 * it. A hold keeps new commits from beginning; {@link #drained()} tells when those begun before it have ended.
 */
public interface LocalCommits {

    /** Holds new commits until {@link #release} of {@code id} or for {@code millis} at most. */
    void hold(long id, long millis);

    /**
     * Holds new commits until {@link #release} of {@code id}, for {@code millis} at most, or until this node is in a
     * generation above {@code generation} (a planned switch; see {@link CommitHoldService#drainBeforeSwitch}).
     */
    void holdUntilSwitch(long id, long millis, long generation);

    void release(long id);

    /** No commit of this node is between its begin and its end (its peers' commits acknowledged, or given up). */
    boolean drained();
}
