package org.mtm.consensus.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.mtm.api.Channels;
import org.mtm.api.ClusterState;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Coordinator;
import org.mtm.api.CrashPoints;
import org.mtm.api.CrashPoints.Point;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.LocalDatabase;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.PeerConnectivityListener;
import org.mtm.api.PeerMessageHandler;
import org.mtm.api.Transport;
import org.mtm.consensus.internal.VoteTally.Phase;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Both ends of the 3-phase commit on {@link Channels#COMMIT}: as coordinator of this node's transactions it
 * tallies votes and precommit answers ({@link VoteTally}); as participant in other nodes' transactions it
 * records precommit durably and answers. Votes themselves are sent by the applier after it prepared.
 *
 * <p>Every member answers every transaction promptly: the applier votes as soon as it prepared, and a
 * conflict ends in a no-vote within its lock bound. {@link #DECISION_TIMEOUT_MS} is a last resort against
 * a member that answers nothing while it stays connected — which is a bug (e.g. its receiver stuck on a
 * transaction it cannot apply), so hitting it is logged as a WARN naming the silent members.
 *
 * <p>When the coordinator aborts, it tells the participants (ABORT); a participant rolls its prepared copy
 * back at once instead of holding its locks until the {@code r} reaches it through the origin's stream,
 * which may be busy with other conflicts. (COMMIT is never applied early: commits keep the origin's order.)
 */
@Component(immediate = true, service = {Coordinator.class, PeerMessageHandler.class, PeerConnectivityListener.class},
    property = PeerMessageHandler.CHANNEL_PROPERTY + ":Integer=" + Channels.COMMIT,
    configurationPid = "org.mtm.multimaster")
public final class CommitCoordinator implements Coordinator, PeerMessageHandler, PeerConnectivityListener {

    private static final Logger LOG = LoggerFactory.getLogger(CommitCoordinator.class);
    /** Bound on waiting for votes; appliers bound their own lock waits far below this. */
    static final long DECISION_TIMEOUT_MS = 60_000;

    /** The part of {@code org.mtm.multimaster} this component reads. */
    @ObjectClassDefinition
    public @interface Config {
        @AttributeDefinition
        boolean wait__peer__commits() default true;

        @AttributeDefinition
        int heartbeat__recv__timeout() default 2000;
    }

    private final ClusterState clusterState;
    private final Transport transport;
    private final LocalDatabase database;
    private final Map<Gid, InFlight> inFlight = new ConcurrentHashMap<>();
    private final ExecutorService durable = Executors.newSingleThreadExecutor(r -> daemon(r, "mtm-precommit"));
    private final ExecutorService earlyAborts = Executors.newSingleThreadExecutor(r -> daemon(r, "mtm-early-abort"));
    private final ScheduledExecutorService timers = timers();
    /** SQLSTATE and message of transactions refused or aborted because this coordinator is stopping. */
    static final String RESTARTING_STATE = "40001";
    static final String RESTARTING = "[multimaster] the commit coordinator of this node is being restarted (bundle update or stop)"
        + " before the transaction was committed";
    private volatile boolean stopped;
    private volatile boolean waitPeerCommits;
    private volatile long commitAckTimeoutMs;
    private Connection precommitConnection;
    private Connection abortConnection;

    @Activate
    public CommitCoordinator(@Reference(name = "clusterState") ClusterState clusterState,
                             @Reference(name = "transport") Transport transport,
                             @Reference(name = "database") LocalDatabase database, Config config) {
        this.clusterState = clusterState;
        this.transport = transport;
        this.database = database;
        modified(config);
    }

    @Modified
    void modified(Config config) {
        waitPeerCommits = config.wait__peer__commits();
        commitAckTimeoutMs = 2L * Math.max(config.heartbeat__recv__timeout(), 100);
    }

    /**
     * Bundle update or stop: new transactions are refused, the undecided ones are aborted (the gateway rolls
     * them back and the client gets 40001, so applications retry), and the decisions already made are still
     * delivered before the executors stop — a decision dropped here would leave its transaction prepared.
     */
    @Deactivate
    void deactivate() {
        stopped = true;
        for (Map.Entry<Gid, InFlight> e : inFlight.entrySet()) {
            InFlight f = e.getValue();
            synchronized (f) {
                if (f.tally.abort(RESTARTING_STATE, RESTARTING + "; it was rolled back and may be retried") == Phase.DECIDED) {
                    finish(e.getKey(), f);
                }
                f.acks.complete(null);
            }
        }
        timers.shutdown(); // queued decision deliveries still run
        durable.shutdown();
        earlyAborts.shutdown();
        try {
            timers.awaitTermination(5, TimeUnit.SECONDS);
            durable.awaitTermination(5, TimeUnit.SECONDS);
            earlyAborts.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
        timers.shutdownNow();
        closeQuietly(precommitConnection);
        closeQuietly(abortConnection);
    }

    // ---- coordinator side --------------------------------------------------------------------------

    @Override
    public Gid begin(long originXid) throws CommitRefusedException {
        if (stopped) {
            throw new CommitRefusedException(RESTARTING_STATE, RESTARTING + "; retry the transaction");
        }
        NodeStatus status = clusterState.status();
        if (status != NodeStatus.ONLINE) {
            throw new CommitRefusedException("57P03", "[multimaster] node is not online: current status \""
                + status.sqlName() + "\"");
        }
        Generation gen = clusterState.currentGeneration();
        int self = clusterState.selfId();
        Gid gid = new Gid(self, originXid, gen.num());
        InFlight f = new InFlight(new VoteTally(self, gen.members(), gen.configured()));
        if (inFlight.putIfAbsent(gid, f) != null) {
            throw new CommitRefusedException("XX000", "transaction " + gid + " is already being committed");
        }
        NodeSet gone = f.tally.participants().minus(transport.reachablePeers());
        if (!gone.isEmpty()) {
            inFlight.remove(gid);
            throw new CommitRefusedException("57P03", "[multimaster] node is not online: members " + gone
                + " of generation " + gen.num() + " are not connected");
        }
        f.timeout = timers.schedule(() -> onTimeout(gid), DECISION_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        return gid;
    }

    @Override
    public CompletableFuture<Decision> prepared(Gid gid) {
        InFlight f = inFlight.get(gid);
        if (f == null) {
            return CompletableFuture.completedFuture(Decision.abort("XX000", "transaction " + gid + " is unknown to the coordinator"));
        }
        synchronized (f) {
            step(gid, f, f.tally.localPrepared());
        }
        return f.decision;
    }

    @Override
    public CompletableFuture<Void> committed(Gid gid) {
        InFlight f = inFlight.get(gid);
        if (f == null) {
            return CompletableFuture.completedFuture(null);
        }
        synchronized (f) {
            f.committedLocally = true;
            f.awaitingAcks = waitPeerCommits ? f.tally.participants().minus(f.ackedCommit).intersect(transport.reachablePeers())
                : NodeSet.EMPTY;
            if (f.awaitingAcks.isEmpty() || stopped) {
                f.acks.complete(null);
            } else {
                try {
                    timers.schedule(() -> f.acks.complete(null), commitAckTimeoutMs, TimeUnit.MILLISECONDS);
                } catch (RejectedExecutionException stopping) {
                    f.acks.complete(null); // deactivated meanwhile: the commit is done, stop waiting for acknowledgements
                }
            }
        }
        return f.acks.whenComplete((v, t) -> inFlight.remove(gid));
    }

    @Override
    public void aborted(Gid gid) {
        InFlight f = inFlight.remove(gid);
        if (f != null) {
            synchronized (f) {
                f.tally.abort("40001", "aborted");
                finish(gid, f);
                f.acks.complete(null);
            }
            transport.broadcast(Channels.COMMIT, CommitMessage.of(Kind.ABORT, gid).encode());
        }
    }

    private void onTimeout(Gid gid) {
        InFlight f = inFlight.get(gid);
        if (f != null) {
            synchronized (f) {
                if (f.tally.phase() != Phase.DECIDED) {
                    NodeSet silent = f.tally.participants().minus(f.tally.phase() == Phase.VOTING ? f.voted : f.precommitAnswered);
                    LOG.warn("node {}: no decision for {} within {} ms ({}): members {} did not answer (reachable now: {});"
                        + " a connected member that never answers is a bug: check its receiver for node {}",
                        clusterState.selfId(), gid, DECISION_TIMEOUT_MS, f.tally.phase() == Phase.VOTING ? "voting" : "precommit",
                        silent, transport.reachablePeers().intersect(silent), clusterState.selfId());
                }
                step(gid, f, f.tally.abort("57014", "[multimaster] no decision for transaction " + gid + " within "
                    + DECISION_TIMEOUT_MS + " ms; it was rolled back"));
            }
        }
    }

    /** Acts on the tally's phase after an event; called holding the InFlight's lock. */
    private void step(Gid gid, InFlight f, Phase phase) {
        if (phase == Phase.PRECOMMIT && !f.precommitSent) {
            CrashPoints.reach(Point.AFTER_ALL_PREPARED, gid); // test-only
            f.precommitSent = true;
            byte[] msg = CommitMessage.of(Kind.PRECOMMIT, gid).encode();
            for (int peer : f.tally.participants().ids()) {
                transport.send(peer, Channels.COMMIT, msg);
            }
        } else if (phase == Phase.DECIDED) {
            finish(gid, f);
        }
    }

    private void finish(Gid gid, InFlight f) {
        if (f.timeout != null) {
            f.timeout.cancel(false);
        }
        Decision d = f.tally.decision().orElseThrow();
        if (!f.decision.isDone()) {
            if (!d.commit()) {
                LOG.debug("node {}: {} aborted: {} {}", clusterState.selfId(), gid, d.sqlState(), d.message());
            } else {
                CrashPoints.reach(Point.AFTER_ALL_PRECOMMITS, gid); // test-only
            }
            // complete off the I/O thread: the gateway continues the session from the callback
            try {
                timers.execute(() -> f.decision.complete(d));
            } catch (RejectedExecutionException stopping) {
                ForkJoinPool.commonPool().execute(() -> f.decision.complete(d)); // deactivated meanwhile
            }
        }
    }

    // ---- participant side and incoming votes -------------------------------------------------------

    @Override
    public void onMessage(int fromNode, byte[] payload) {
        CommitMessage m;
        try {
            m = CommitMessage.decode(payload);
        } catch (IllegalArgumentException e) {
            LOG.warn("node {}: ignoring malformed commit message from node {}: {}", clusterState.selfId(), fromNode, e.getMessage());
            return;
        }
        switch (m.kind()) {
            case PREPARED, ABORTED, PRECOMMITTED, COMMITTED -> onVote(fromNode, m);
            case PRECOMMIT -> durable.execute(() -> precommit(fromNode, m.gid()));
            case ABORT -> {
                if (fromNode == m.gid().originNode()) { // only a transaction's own coordinator aborts it this way
                    earlyAborts.execute(() -> rollbackEarly(m.gid()));
                }
            }
            case COMMIT -> {
                // the origin's stream carries COMMIT PREPARED in the origin's commit order; nothing to do early
            }
        }
    }

    private void onVote(int from, CommitMessage m) {
        InFlight f = inFlight.get(m.gid());
        if (f == null) {
            return; // late answer for a transaction already decided
        }
        synchronized (f) {
            switch (m.kind()) {
                case PREPARED -> {
                    if (f.voted.isEmpty()) CrashPoints.reach(Point.AFTER_SOME_PREPARED, m.gid()); // test-only
                    f.voted = f.voted.with(from);
                    step(m.gid(), f, f.tally.votePrepared(from));
                }
                case ABORTED -> {
                    f.voted = f.voted.with(from);
                    step(m.gid(), f, f.tally.voteAborted(from, m.sqlState(), m.message()));
                }
                case PRECOMMITTED -> {
                    if (f.precommitAnswered.isEmpty()) CrashPoints.reach(Point.AFTER_SOME_PRECOMMITS, m.gid()); // test-only
                    f.precommitAnswered = f.precommitAnswered.with(from);
                    step(m.gid(), f, f.tally.precommitted(from));
                }
                case COMMITTED -> {
                    f.ackedCommit = f.ackedCommit.with(from);
                    if (f.committedLocally && f.ackedCommit.containsAll(f.awaitingAcks)) {
                        f.acks.complete(null);
                    }
                }
                default -> throw new IllegalStateException("not a vote: " + m.kind());
            }
        }
    }

    private void precommit(int coordinator, Gid gid) {
        try {
            if (precommitConnection == null || !precommitConnection.isValid(1)) {
                closeQuietly(precommitConnection);
                precommitConnection = database.connect();
            }
            PrecommitStore.recordPrecommit(precommitConnection, gid);
            transport.send(coordinator, Channels.COMMIT, CommitMessage.of(Kind.PRECOMMITTED, gid).encode());
        } catch (SQLException e) {
            // no answer: the coordinator cannot count us; it aborts on its bound or commits with a majority
            LOG.warn("node {}: cannot record precommit of {}: {}", clusterState.selfId(), gid, e.getMessage());
            closeQuietly(precommitConnection);
            precommitConnection = null;
        }
    }

    /**
     * Rolls back this node's prepared copy of {@code gid}, which its coordinator aborted. The {@code r} in
     * the origin's stream would do it too, later; whichever comes second finds nothing.
     */
    private void rollbackEarly(Gid gid) {
        try {
            if (abortConnection == null || !abortConnection.isValid(1)) {
                closeQuietly(abortConnection);
                abortConnection = database.connect();
                abortConnection.setAutoCommit(true);
            }
            try (Statement st = abortConnection.createStatement()) {
                st.execute("ROLLBACK PREPARED '" + gid + "'");
            }
            LOG.debug("node {}: rolled back {} on its coordinator's ABORT", clusterState.selfId(), gid);
        } catch (SQLException e) {
            // 42704: not prepared here (voted down, not applied yet, or rolled back by the stream already);
            // 55000: being prepared or finished by the applier right now. Either way the stream's r finishes it.
            if (!"42704".equals(e.getSQLState()) && !"55000".equals(e.getSQLState())) {
                LOG.debug("node {}: cannot roll back {} early: {}", clusterState.selfId(), gid, e.getMessage());
                closeQuietly(abortConnection);
                abortConnection = null;
            }
        }
    }

    @Override
    public void peerReachable(int node) {
        // nothing: a returning node joins new transactions through a new generation
    }

    @Override
    public void peerUnreachable(int node) {
        for (Map.Entry<Gid, InFlight> e : inFlight.entrySet()) {
            InFlight f = e.getValue();
            synchronized (f) {
                step(e.getKey(), f, f.tally.memberLost(node, "disconnected"));
                if (f.committedLocally && f.awaitingAcks.contains(node)) {
                    f.awaitingAcks = f.awaitingAcks.without(node);
                    if (f.ackedCommit.containsAll(f.awaitingAcks)) {
                        f.acks.complete(null);
                    }
                }
            }
        }
    }

    /**
     * Decision deliveries, decision timeouts and acknowledgement waits. On shutdown the pending timeouts are
     * dropped (they would hold the deactivation for up to a minute) but queued deliveries still run.
     */
    private static ScheduledExecutorService timers() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "mtm-coordinator"));
        t.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        t.setRemoveOnCancelPolicy(true);
        return t;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing; nothing to recover
            }
        }
    }

    /** One transaction this node coordinates. Guarded by its own monitor. */
    private static final class InFlight {
        final VoteTally tally;
        final CompletableFuture<Decision> decision = new CompletableFuture<>();
        final CompletableFuture<Void> acks = new CompletableFuture<>();
        boolean precommitSent;
        boolean committedLocally;
        NodeSet ackedCommit = NodeSet.EMPTY;
        NodeSet awaitingAcks = NodeSet.EMPTY;
        /** Members that voted (PREPARED or ABORTED) and that answered PRECOMMIT: who was silent on a timeout. */
        NodeSet voted = NodeSet.EMPTY;
        NodeSet precommitAnswered = NodeSet.EMPTY;
        ScheduledFuture<?> timeout;

        InFlight(VoteTally tally) {
            this.tally = tally;
        }
    }
}
