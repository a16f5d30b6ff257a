package org.mtm.consensus.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CompletionException;
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
import org.mtm.api.Coordinator.OutcomeUnknownException;
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
import org.mtm.api.metrics.BundleMetrics;
import org.mtm.consensus.internal.metrics.CommitMetrics;
import org.mtm.consensus.internal.metrics.CommitRecorder;
import org.mtm.consensus.internal.metrics.CommitTimes;
import org.mtm.consensus.internal.VoteTally.Phase;
import org.mtm.consensus.internal.resolver.InDoubtResolver;
import org.mtm.consensus.internal.resolver.Outcome;
import org.mtm.consensus.internal.resolver.ResolverMessage;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator of this node's transactions in the 3-phase commit on {@link Channels#COMMIT} (DESIGN §2): it
 * tallies the members' votes ({@link VoteTally}), has every configured node accept the precommit in term {1,0}
 * through the {@link InDoubtResolver} (the acceptors live there), and decides. Votes are sent by the peers'
 * appliers once they prepared.
 *
 * <p>Before the precommit is asked for, the coordinator alone decides an abort (a no-vote, a lost member, its own
 * bound). After it, it never aborts by itself: if a majority can no longer accept, or it gives up, the transaction
 * is in doubt and the resolver decides it — the gateway waits for that outcome up to
 * {@code heartbeat_recv_timeout} + {@value #RESOLUTION_MARGIN_MS} ms, then answers 08007 and leaves the prepared
 * transaction to the resolver.
 *
 * <p>When the coordinator aborts, it tells the participants (ABORT); a participant rolls its prepared copy
 * back at once instead of holding its locks until the {@code r} reaches it through the origin's stream,
 * which may be busy with other conflicts. Likewise a decision to commit goes to the participants at once (COMMIT),
 * and each commits its prepared copy then rather than at the origin's COMMIT PREPARED in the stream.
 *
 * <p>Each transaction's steps are timed ({@link CommitTimes}) and its outcome told once to a {@link CommitRecorder}:
 * the node's commit metrics, shown in its shared registry while the admin bundle offers one.
 */
@Component(immediate = true, service = {Coordinator.class, PeerMessageHandler.class, PeerConnectivityListener.class,
    LocalCommits.class},
    property = PeerMessageHandler.CHANNEL_PROPERTY + ":Integer=" + Channels.COMMIT,
    configurationPid = "org.mtm.multimaster")
public final class CommitCoordinator
    implements Coordinator, PeerMessageHandler, PeerConnectivityListener, InDoubtResolver.Coordination, LocalCommits {

    private static final Logger LOG = LoggerFactory.getLogger(CommitCoordinator.class);
    /**
     * Bound on waiting for votes, and then for the precommits; appliers bound their own lock waits far below this. A
     * participant still applying the transaction (a large one) says so every {@link CommitMessage#APPLYING_NOTE_MS}
     * ({@link Kind#APPLYING}), and each note starts the wait again: only silence ends it.
     */
    static final long DECISION_TIMEOUT_MS = 60_000;
    /** Added to heartbeat_recv_timeout: how long a client waits for the resolver's outcome of its in-doubt commit. */
    static final long RESOLUTION_MARGIN_MS = 3_000;
    /** Precommit requests not answered within this are sent again (a message may have been dropped). */
    static final long PRECOMMIT_RESEND_MS = 500;

    /** The part of {@code org.mtm.multimaster} this component reads. */
    @ObjectClassDefinition
    public @interface Config {
        @AttributeDefinition
        boolean wait__peer__commits() default true;

        @AttributeDefinition
        int heartbeat__recv__timeout() default 2000;

        @AttributeDefinition
        boolean tx__delay__on__slow__catchup() default false;

        @AttributeDefinition
        int max__tx__delay__on__slow__catchup() default 0;
    }

    private final ClusterState clusterState;
    private final Transport transport;
    private final LocalDatabase database;
    private final InDoubtResolver resolver;
    private final GenerationGate gate;
    private final Map<Gid, InFlight> inFlight = new ConcurrentHashMap<>();
    private final CommitHold hold = new CommitHold();
    private final ExecutorService earlyAborts = Executors.newSingleThreadExecutor(r -> daemon(r, "mtm-early-abort"));
    private final ScheduledExecutorService timers = timers();
    /** SQLSTATE and message of transactions refused or aborted because this coordinator is stopping. */
    static final String RESTARTING_STATE = "40001";
    static final String RESTARTING = "[multimaster] the commit coordinator of this node is being restarted (bundle update or stop)"
        + " before the transaction was committed";
    /** SQLSTATE and message of transactions aborted because this node's generation changed under them. */
    static final String GENERATION_CHANGED_STATE = "40001";
    static final String GENERATION_CHANGED = "[multimaster] the cluster's generation changed";
    private volatile boolean stopped;
    private volatile long decisionTimeoutMs = DECISION_TIMEOUT_MS;
    /** The clock of the {@link Kind#COORDINATING} notes, in nanoseconds (tests drive their own). */
    private volatile java.util.function.LongSupplier noteClock = System::nanoTime;
    private volatile boolean waitPeerCommits;
    private volatile long commitAckTimeoutMs;
    private volatile long resolutionWaitMs;
    private volatile boolean txDelayOnSlowCatchup;
    private volatile int maxTxDelayOnSlowCatchup;
    /** Commits whose acknowledgement tx_delay_on_slow_catchup held, and for how long in all, since the last log line. */
    private final java.util.concurrent.atomic.AtomicLong delayedCommits = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong delayedMs = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong delayLoggedAt = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
    static final long DELAY_LOG_INTERVAL_MS = 5_000;
    /** How often transactions in flight are checked against the members of the current generation. */
    static final long MEMBERSHIP_CHECK_MS = 100;
    private Connection abortConnection;
    private final BundleMetrics metrics = new BundleMetrics();
    private final CommitRecorder recorder = new CommitMetrics(metrics.registry());

    @Activate
    public CommitCoordinator(@Reference(name = "clusterState") ClusterState clusterState,
                             @Reference(name = "transport") Transport transport,
                             @Reference(name = "database") LocalDatabase database,
                             @Reference(name = "resolver") InDoubtResolver resolver,
                             @Reference(name = "gate") GenerationGate gate, Config config) {
        this.clusterState = clusterState;
        this.gate = gate;
        this.transport = transport;
        this.database = database;
        this.resolver = resolver;
        modified(config);
        resolver.attach(this);
        timers.scheduleWithFixedDelay(this::endWhatLeftMembersWait, MEMBERSHIP_CHECK_MS, MEMBERSHIP_CHECK_MS,
            TimeUnit.MILLISECONDS);
        timers.scheduleWithFixedDelay(this::noteWhatIsStillUndecided, MEMBERSHIP_CHECK_MS, MEMBERSHIP_CHECK_MS,
            TimeUnit.MILLISECONDS);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.attach(shared);
    }

    void unbindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.detach(shared);
    }

    /** This component's own metrics (tests). */
    com.codahale.metrics.MetricRegistry metrics() {
        return metrics.registry();
    }

    @Modified
    void modified(Config config) {
        waitPeerCommits = config.wait__peer__commits();
        commitAckTimeoutMs = 2L * Math.max(config.heartbeat__recv__timeout(), 100);
        resolutionWaitMs = Math.max(config.heartbeat__recv__timeout(), 100) + RESOLUTION_MARGIN_MS;
        txDelayOnSlowCatchup = config.tx__delay__on__slow__catchup();
        maxTxDelayOnSlowCatchup = config.max__tx__delay__on__slow__catchup();
    }

    /**
     * Bundle update or stop: new transactions are refused; those still voting are aborted (the gateway rolls them
     * back and the client gets 40001, so applications retry); those past the precommit request are left in doubt
     * (08007: the next resolver of this node decides them — aborting them here could contradict a node that accepted
     * the precommit); the decisions already made are still delivered before the executors stop.
     */
    @Deactivate
    void deactivate() {
        stopped = true;
        admit(hold.releaseAll()); // the waiting commits go on to begin(), which refuses them: restarting
        resolver.detach(this);
        for (Map.Entry<Gid, InFlight> e : inFlight.entrySet()) {
            InFlight f = e.getValue();
            synchronized (f) {
                Phase p = f.tally.giveUp(RESTARTING_STATE, RESTARTING + "; it was rolled back and may be retried");
                if (p == Phase.DECIDED) {
                    finish(e.getKey(), f);
                } else {
                    unknown(e.getKey(), f, "the commit coordinator of this node is being restarted");
                }
                f.acks.complete(null);
            }
        }
        timers.shutdown(); // queued tasks still run
        earlyAborts.shutdown();
        try {
            timers.awaitTermination(5, TimeUnit.SECONDS);
            earlyAborts.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
        timers.shutdownNow();
        closeQuietly(abortConnection);
        metrics.close();
    }

    // ---- coordinator side --------------------------------------------------------------------------

    @Override
    public Gid begin(long originXid) throws CommitRefusedException {
        if (stopped) {
            throw refused(RESTARTING_STATE, RESTARTING + "; retry the transaction");
        }
        NodeStatus status = clusterState.status();
        if (status != NodeStatus.ONLINE) {
            throw refused("57P03", "[multimaster] node is not online: current status \""
                + status.sqlName() + "\"");
        }
        Generation gen = clusterState.currentGeneration();
        int self = clusterState.selfId();
        Gid gid = new Gid(self, originXid, gen.num());
        InFlight f = new InFlight(new VoteTally(self, gen.members(), gen.configured()), new CommitTimes(System.nanoTime()));
        f.noted = noteClock.getAsLong();
        if (inFlight.putIfAbsent(gid, f) != null) {
            throw refused("XX000", "transaction " + gid + " is already being committed");
        }
        // after the put: a hold that began before it sees this transaction in flight and waits for it (drained())
        if (hold.held(System.nanoTime(), gate.generation())) {
            inFlight.remove(gid);
            throw new CommitsHeldException("commits are held for a consistent point of the cluster");
        }
        GenerationGate.Entry entry = gate.tryEnter(gid);
        if (entry == GenerationGate.Entry.SWITCHING) {
            // nothing is prepared yet: the commit waits for the switch (admission()) and is stamped again after it
            inFlight.remove(gid);
            throw new CommitsHeldException("a generation switch is under way");
        }
        if (entry != GenerationGate.Entry.ENTERED) {
            inFlight.remove(gid);
            throw refused(GENERATION_CHANGED_STATE, GENERATION_CHANGED + " before transaction " + gid
                + " was prepared; it was rolled back and may be retried");
        }
        NodeSet gone = f.tally.participants().minus(transport.reachablePeers());
        if (!gone.isEmpty()) {
            inFlight.remove(gid);
            throw refused("57P03", "[multimaster] node is not online: members " + gone
                + " of generation " + gen.num() + " are not connected");
        }
        f.timeout = timers.schedule(() -> onTimeout(gid), decisionTimeoutMs, TimeUnit.MILLISECONDS);
        return gid;
    }

    private CommitRefusedException refused(String sqlState, String message) {
        recorder.aborted(sqlState);
        return new CommitRefusedException(sqlState, message);
    }

    /** Once no commit hold is in force and no generation switch runs (begin() refuses neither then). */
    @Override
    public CompletionStage<Void> admission() {
        return hold.admission(System.nanoTime(), gate.generation()).thenCompose(v -> gate.switchEnded());
    }

    // ---- commit hold (CommitHoldService) -----------------------------------------------------------

    @Override
    public void hold(long id, long millis) {
        hold.hold(id, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis));
        try {
            timers.schedule(() -> admit(hold.expire(System.nanoTime())), millis + 1, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            release(id);
        }
    }

    /**
     * A hold for a planned generation switch: it also ends once this node is in a generation above {@code generation}
     * (looked at every {@value #SWITCH_HOLD_POLL_MS} ms while it is in force), so that what begins after it is stamped
     * with the new generation, which every peer either is in or waits for (a PREPARE of a newer generation is applied
     * once adopted; one of an older generation is refused).
     */
    @Override
    public void holdUntilSwitch(long id, long millis, long generation) {
        hold.holdUntilAbove(id, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis), generation);
        ScheduledFuture<?>[] poll = new ScheduledFuture<?>[1];
        try {
            synchronized (poll) {
                poll[0] = timers.scheduleWithFixedDelay(() -> {
                    long now = System.nanoTime();
                    long gen = gate.generation();
                    admit(hold.expire(now, gen));
                    if (!hold.held(now, gen)) {
                        synchronized (poll) {
                            poll[0].cancel(false);
                        }
                    }
                }, SWITCH_HOLD_POLL_MS, SWITCH_HOLD_POLL_MS, TimeUnit.MILLISECONDS);
            }
        } catch (RejectedExecutionException stopping) {
            release(id);
        }
    }

    /** How often commits held for a planned switch look whether this node has switched. */
    static final long SWITCH_HOLD_POLL_MS = 5;

    @Override
    public void release(long id) {
        admit(hold.release(id, System.nanoTime()));
    }

    @Override
    public boolean drained() {
        return inFlight.isEmpty();
    }

    /** The held commits go on, off the releasing thread (a timer of this coordinator, or the holder's). */
    private static void admit(List<CompletableFuture<Void>> admitted) {
        admitted.forEach(a -> ForkJoinPool.commonPool().execute(() -> a.complete(null)));
    }

    @Override
    public CompletableFuture<Decision> prepared(Gid gid) {
        InFlight f = inFlight.get(gid);
        if (f == null) {
            return CompletableFuture.completedFuture(Decision.abort("XX000", "transaction " + gid + " is unknown to the coordinator"));
        }
        synchronized (f) {
            f.times.prepared(System.nanoTime());
            if (!gate.leave(gid)) {
                // a switch ran while this PREPARE did: it may follow the ParallelSafe marker, which a recovering node
                // takes as "nothing of older generations after this"; only an abort everywhere is safe
                step(gid, f, f.tally.giveUp(GENERATION_CHANGED_STATE, GENERATION_CHANGED + " while transaction " + gid
                    + " was being prepared; it was rolled back and may be retried"));
            } else {
                Phase before = f.tally.phase();
                Phase now = f.tally.localPrepared();
                if (before == Phase.VOTING && now == Phase.PRECOMMIT) {
                    waitAgain(gid, f); // this node's own PREPARE was the last vote: as in onVote, the precommits' own wait
                }
                step(gid, f, now);
            }
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
        CompletableFuture<Void> done = f.acks.whenComplete((v, t) -> {
            inFlight.remove(gid);
            synchronized (f) {
                f.times.acknowledged(System.nanoTime());
                recorder.acknowledged(f.times);
            }
        });
        long lag = txDelayOnSlowCatchup ? clusterState.peersCatchUpLag() : -1;
        long delay = CatchUpDelay.delayMs(txDelayOnSlowCatchup, maxTxDelayOnSlowCatchup, lag);
        return delay == 0 ? done : done.thenCompose(v -> delayed(delay, lag));
    }

    /**
     * tx_delay_on_slow_catchup: the client's acknowledgement of a commit (done everywhere, its locks released) comes
     * {@code ms} later, so closed-loop writers slow down while a peer catches up; counted and logged every
     * {@value #DELAY_LOG_INTERVAL_MS} ms.
     */
    private CompletableFuture<Void> delayed(long ms, long lag) {
        delayedCommits.incrementAndGet();
        delayedMs.addAndGet(ms);
        long now = System.nanoTime();
        long last = delayLoggedAt.get();
        if (now - last >= TimeUnit.MILLISECONDS.toNanos(DELAY_LOG_INTERVAL_MS) && delayLoggedAt.compareAndSet(last, now)) {
            LOG.info("node {}: tx_delay_on_slow_catchup: delayed {} commit(s) by {} ms in all in the last {} ms: a peer"
                + " catches up {} kB behind its donor (now {} ms a commit)", clusterState.selfId(),
                delayedCommits.getAndSet(0), delayedMs.getAndSet(0), (now - last) / 1_000_000, lag / 1024, ms);
        }
        CompletableFuture<Void> later = new CompletableFuture<>();
        try {
            timers.schedule(() -> later.complete(null), ms, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            later.complete(null); // deactivating: the commit is done, acknowledge it now
        }
        return later;
    }

    @Override
    public void aborted(Gid gid) {
        gate.leave(gid);
        InFlight f = inFlight.remove(gid);
        if (f != null) {
            boolean decidedAbort;
            synchronized (f) {
                // the gateway rolled its copy back: only ever after an abort decision, or before anything was voted
                decidedAbort = f.tally.giveUp("40001", "aborted") == Phase.DECIDED;
                if (decidedAbort) {
                    finish(gid, f);
                }
                f.acks.complete(null);
            }
            if (decidedAbort) {
                transport.broadcast(Channels.COMMIT, CommitMessage.of(Kind.ABORT, gid).encode());
            }
        }
    }

    private void onTimeout(Gid gid) {
        InFlight f = inFlight.get(gid);
        if (f != null) {
            synchronized (f) {
                if (f.tally.phase() == Phase.VOTING || f.tally.phase() == Phase.PRECOMMIT) {
                    NodeSet silent = f.tally.phase() == Phase.VOTING ? f.tally.participants().minus(f.voted)
                        : f.tally.precommitVoters().minus(f.precommitAnswered);
                    LOG.warn("node {}: no decision for {} within {} ms ({}): members {} did not answer (reachable now: {});"
                        + " a connected member that never answers is a bug: check its receiver for node {}",
                        clusterState.selfId(), gid, decisionTimeoutMs, f.tally.phase() == Phase.VOTING ? "voting" : "precommit",
                        silent, transport.reachablePeers().intersect(silent), clusterState.selfId());
                }
                step(gid, f, f.tally.giveUp("57014", "[multimaster] no decision for transaction " + gid + " within "
                    + decisionTimeoutMs + " ms; it was rolled back"));
            }
        }
    }

    /** Acts on the tally's phase after an event; called holding the InFlight's lock. */
    private void step(Gid gid, InFlight f, Phase phase) {
        if (phase == Phase.PRECOMMIT && !f.precommitRequested) {
            CrashPoints.reach(Point.AFTER_ALL_PREPARED, gid); // test-only
            f.times.voted(System.nanoTime());
            f.precommitRequested = true;
            resolver.requestPrecommit(gid, f.tally.precommitVoters());
            schedule(() -> resendPrecommit(gid), PRECOMMIT_RESEND_MS);
        } else if (phase == Phase.IN_DOUBT && !f.resolving) {
            f.resolving = true;
            LOG.info("node {}: {} is in doubt (the precommit can no longer reach a majority); asking the resolver",
                clusterState.selfId(), gid);
            resolver.resolve(gid, f.tally.precommitVoters());
            schedule(() -> resolutionOverdue(gid), resolutionWaitMs);
        } else if (phase == Phase.DECIDED) {
            finish(gid, f);
        }
    }

    /** Precommit requests or their answers may have been dropped: ask the nodes that have not answered again. */
    private void resendPrecommit(Gid gid) {
        InFlight f = inFlight.get(gid);
        if (f == null) {
            return;
        }
        synchronized (f) {
            if (f.tally.phase() != Phase.PRECOMMIT) {
                return;
            }
            NodeSet silent = f.tally.precommitVoters().minus(f.precommitAnswered);
            if (!silent.isEmpty()) {
                resolver.requestPrecommit(gid, silent);
            }
        }
        schedule(() -> resendPrecommit(gid), PRECOMMIT_RESEND_MS);
    }

    /** The resolver has not decided in time: the client learns that the outcome is unknown to it. */
    private void resolutionOverdue(Gid gid) {
        InFlight f = inFlight.get(gid);
        if (f != null) {
            synchronized (f) {
                if (f.tally.phase() == Phase.IN_DOUBT) {
                    unknown(gid, f, "its outcome is being decided by the cluster");
                }
            }
        }
    }

    /**
     * Completes the gateway's wait without an outcome (it answers 08007 and leaves the prepared transaction) and
     * hands the transaction to the resolver of this node, which finishes it once decided.
     */
    private void unknown(Gid gid, InFlight f, String why) {
        inFlight.remove(gid, f);
        if (f.timeout != null) {
            f.timeout.cancel(false);
        }
        LOG.warn("node {}: outcome of {} unknown to its client: {}", clusterState.selfId(), gid, why);
        recorder.outcomeUnknown();
        f.decision.completeExceptionally(new CompletionException(new OutcomeUnknownException("[multimaster] the outcome of transaction " + gid
            + " is not known yet: " + why)));
    }

    private void schedule(Runnable r, long delayMs) {
        try {
            timers.schedule(r, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            // deactivated: the transaction is in doubt, the next activation's resolver decides it
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
                tellCommit(gid, f);
            }
            tellDecision(f, d);
            // on the thread that took the decision (a transport event loop, or the acceptor desk for this node's own
            // answer): the gateway's continuation only queues COMMIT/ROLLBACK PREPARED on its session's event loop,
            // so a hop through this coordinator's timer thread would add one thread wake-up to every commit's
            // critical path and nothing else (CommitCoordinatorDecisionThreadTest)
            f.decision.complete(d);
        }
    }

    /**
     * The decision to commit goes to the other participants at once, before this node's own COMMIT PREPARED: it is
     * final (a majority accepted the precommit, or the resolver decided), so each peer commits its prepared copy now
     * and acknowledges, instead of when the decoded COMMIT PREPARED reaches it through this node's stream (the
     * applier's early committer; the stream's K then finds it done). Once per transaction.
     */
    private void tellCommit(Gid gid, InFlight f) {
        if (f.commitTold) {
            return;
        }
        f.commitTold = true;
        byte[] commit = CommitMessage.of(Kind.COMMIT, gid).encode();
        for (int peer : f.tally.participants().without(clusterState.selfId()).ids()) {
            transport.send(peer, Channels.COMMIT, commit);
        }
    }

    /** Once per transaction (finish runs again for late events until the decision is delivered). */
    private void tellDecision(InFlight f, Decision d) {
        if (f.decisionTold) {
            return;
        }
        f.decisionTold = true;
        long now = System.nanoTime();
        f.times.voted(now); // decided without a precommit round: the votes ended here
        f.times.decided(now);
        if (d.commit()) {
            recorder.committed();
        } else {
            recorder.aborted(d.sqlState() == null ? "40001" : d.sqlState());
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
            case PREPARED, ABORTED, COMMITTED -> onVote(fromNode, m);
            case APPLYING -> onApplying(fromNode, m.gid());
            case COORDINATING -> {
                if (fromNode == m.gid().originNode()) { // a copy prepared here: its coordinator is at work on it
                    resolver.coordinatorAtWork(m.gid());
                }
            }
            case ABORT -> {
                if (fromNode == m.gid().originNode()) { // only a transaction's own coordinator aborts it this way
                    earlyAborts.execute(() -> rollbackEarly(m.gid()));
                }
            }
            case COMMIT -> {
                // the applier's early committer commits the prepared copy (it listens on this channel too)
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
                    Phase before = f.tally.phase();
                    Phase now = f.tally.votePrepared(from);
                    if (before == Phase.VOTING && now == Phase.PRECOMMIT) {
                        // the last vote may come late in the wait (a large transaction): the precommits get a wait of their own
                        waitAgain(m.gid(), f);
                    }
                    step(m.gid(), f, now);
                }
                case ABORTED -> {
                    f.voted = f.voted.with(from);
                    step(m.gid(), f, f.tally.voteAborted(from, m.sqlState(), m.message()));
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

    /**
     * A participant that has not voted is still applying the transaction's changes (a large transaction: a bulk load,
     * a big UPDATE, on a busy peer): it is alive and working on it, so the wait for its vote starts again. Without
     * notes the wait ends after {@link #DECISION_TIMEOUT_MS} whatever the size of the transaction.
     */
    private void onApplying(int from, Gid gid) {
        InFlight f = inFlight.get(gid);
        if (f == null) {
            return;
        }
        synchronized (f) {
            if (f.tally.phase() == Phase.VOTING && f.tally.participants().contains(from) && !f.voted.contains(from)) {
                waitAgain(gid, f);
            }
        }
    }

    /** Starts the decision's wait again; called holding the InFlight's lock. */
    private void waitAgain(Gid gid, InFlight f) {
        if (f.timeout == null || !f.timeout.cancel(false)) {
            return; // no wait scheduled, or it has fired already
        }
        try {
            f.timeout = timers.schedule(() -> onTimeout(gid), decisionTimeoutMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            // deactivated: the transaction is in doubt, the next activation's resolver decides it
        }
    }

    /** Tests: the clock of the {@link Kind#COORDINATING} notes, in nanoseconds. */
    void noteClock(java.util.function.LongSupplier nanos) {
        noteClock = nanos;
    }

    /** Tests: a shorter decision timeout. */
    void decisionTimeout(long ms) {
        decisionTimeoutMs = ms;
    }

    // ---- answers from the resolver ----------------------------------------------------------------

    @Override
    public boolean coordinating(Gid gid) {
        return inFlight.containsKey(gid);
    }

    @Override
    public void precommitAnswered(int from, ResolverMessage answer) {
        InFlight f = inFlight.get(answer.gid());
        if (f == null) {
            return;
        }
        synchronized (f) {
            if (answer.granted() && from != clusterState.selfId() && f.tally.phase() == Phase.PRECOMMIT
                && f.precommitAnswered.without(clusterState.selfId()).isEmpty()) {
                CrashPoints.reach(Point.AFTER_SOME_PRECOMMITS, answer.gid()); // test-only: a peer accepted, not counted yet
            }
            f.precommitAnswered = f.precommitAnswered.with(from);
            step(answer.gid(), f, answer.granted() ? f.tally.precommitted(from) : f.tally.precommitRefused(from, answer.known()));
        }
    }

    @Override
    public void decided(Gid gid, Outcome outcome) {
        InFlight f = inFlight.get(gid);
        if (f == null) {
            return;
        }
        synchronized (f) {
            if (f.tally.phase() != Phase.VOTING) { // a voting transaction has no precommit: nobody can decide it but us
                step(gid, f, f.tally.resolved(outcome));
            }
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
     * A participant that is no longer a member of the current generation will not vote, precommit or acknowledge:
     * the cluster excluded it. Usually it is unreachable too ({@link #peerUnreachable}), but an edge partition can
     * exclude a node this one still reaches, whose receivers then stop for its catch-up — the fault battery found a
     * transaction of node 2 waiting the whole decision timeout (60 s) for node 3's vote, left prepared on node 2
     * after node 1 and 3 had rolled it back. Its transactions end as if it were lost: aborted while voting (40001),
     * in doubt after the precommit request.
     */
    private void endWhatLeftMembersWait() {
        if (inFlight.isEmpty()) {
            return;
        }
        Generation gen;
        int self;
        try {
            gen = clusterState.currentGeneration();
            self = clusterState.selfId();
        } catch (RuntimeException e) {
            return; // the cluster state is going away: the deactivation decides what is in flight
        }
        if (gen == null || gen.num() == 0) {
            return;
        }
        for (Map.Entry<Gid, InFlight> e : inFlight.entrySet()) {
            InFlight f = e.getValue();
            synchronized (f) {
                NodeSet left = f.tally.participants().minus(gen.members()).without(self);
                for (int node : left.ids()) {
                    step(e.getKey(), f, f.tally.memberLost(node, "left the cluster's generation (now " + gen.num()
                        + " with members " + gen.members() + ")"));
                    if (f.committedLocally && f.awaitingAcks.contains(node)) {
                        f.awaitingAcks = f.awaitingAcks.without(node);
                        if (f.ackedCommit.containsAll(f.awaitingAcks)) {
                            f.acks.complete(null);
                        }
                    }
                }
            }
        }
    }

    /**
     * Tells the participants that prepared a transaction still undecided after {@link CommitMessage#APPLYING_NOTE_MS}
     * (another peer still applying a large one) that this coordinator is at work on it, every such interval: their
     * resolvers would otherwise take a copy prepared longer than their patience (10 s) for one whose coordinator
     * forgot it, and decide it — abort, since nothing was precommitted (a 1M-row bulk load on a loaded machine was).
     */
    void noteWhatIsStillUndecided() {
        if (inFlight.isEmpty()) {
            return;
        }
        long now = noteClock.getAsLong();
        long interval = TimeUnit.MILLISECONDS.toNanos(CommitMessage.APPLYING_NOTE_MS);
        for (Map.Entry<Gid, InFlight> e : inFlight.entrySet()) {
            InFlight f = e.getValue();
            NodeSet prepared;
            synchronized (f) {
                Phase phase = f.tally.phase();
                if (phase != Phase.VOTING && phase != Phase.PRECOMMIT || now - f.noted < interval) {
                    continue;
                }
                f.noted = now;
                prepared = f.tally.preparedPeers();
            }
            byte[] note = CommitMessage.of(Kind.COORDINATING, e.getKey()).encode();
            for (int node : prepared.ids()) {
                transport.send(node, Channels.COMMIT, note);
            }
        }
    }

    /**
     * Decision timeouts, precommit resends and acknowledgement waits (decisions are delivered on the thread that
     * takes them, see finish). On shutdown the pending timeouts are dropped (they would hold the deactivation for up
     * to a minute) but tasks already queued still run.
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
        final CommitTimes times;
        final CompletableFuture<Decision> decision = new CompletableFuture<>();
        final CompletableFuture<Void> acks = new CompletableFuture<>();
        boolean precommitRequested;
        boolean resolving;
        boolean committedLocally;
        boolean decisionTold;
        boolean commitTold;
        NodeSet ackedCommit = NodeSet.EMPTY;
        NodeSet awaitingAcks = NodeSet.EMPTY;
        /** Members that voted (PREPARED or ABORTED) and nodes that answered the precommit: who was silent. */
        NodeSet voted = NodeSet.EMPTY;
        NodeSet precommitAnswered = NodeSet.EMPTY;
        ScheduledFuture<?> timeout;
        /** When the participants were last told that this coordinator is at work on it ({@link Kind#COORDINATING}). */
        long noted;

        InFlight(VoteTally tally, CommitTimes times) {
            this.tally = tally;
            this.times = times;
        }
    }
}
