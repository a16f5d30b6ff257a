package org.mtm.api;

/** Channel numbers of node-to-node messages, one per protocol, so each bundle owns its own encoding. */
public final class Channels {
    /** Periodic liveness and state beacon; payload from {@link HeartbeatSource}. */
    public static final int HEARTBEAT = 1;
    /** 3PC votes and precommit (coordinator ↔ appliers). */
    public static final int COMMIT = 2;
    /** Generation campaign votes. */
    public static final int GENERATION = 3;
    /** Paxos rounds of the resolver for in-doubt transactions. */
    public static final int RESOLVER = 4;
    /** Referee grant requests and answers. */
    public static final int REFEREE = 5;
    /**
     * The sender is shutting down (its framework stops, its gateway has drained): its peers count it unreachable at
     * once instead of after {@code heartbeat_recv_timeout}, and hear nothing more on that connection. Empty payload.
     */
    public static final int LEAVING = 6;
    /** Holding commits for a consistent point of the cluster ({@link CommitHolds}): hold, held, release. */
    public static final int COMMIT_HOLD = 7;
    /**
     * The sender's values of the {@code org.mtm.multimaster} keys every node should share ({@link SettingsAgreement}),
     * sent when a peer becomes reachable and when they change. A node of an older version drops it unread.
     */
    public static final int SETTINGS = 8;
    /**
     * The waits of the sender's apply sessions for prepared transactions (global deadlock detection): one
     * {@code waiter TAB holder} line per wait, sent while there are any and once more when they end. A node of an
     * older version drops it unread.
     */
    public static final int LOCK_GRAPH = 9;

    private Channels() {
    }
}
