package org.mtm.applier.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.RejectedExecutionException;
import org.mtm.api.Applier;
import org.mtm.api.Channels;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterConfigListener;
import org.mtm.api.ClusterNode;
import org.mtm.api.ClusterState;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Gid;
import org.mtm.api.LocalDatabase;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.PeerConnectivityListener;
import org.mtm.api.PeerMessageHandler;
import org.mtm.api.ReceiverInfo;
import org.mtm.api.ReceiverMode;
import org.mtm.api.RecoveryProgress;
import org.mtm.api.Replication;
import org.mtm.api.ReplicationPlan;
import org.mtm.api.Transport;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the receivers the replication plan asks for ({@link ClusterState#replicationPlan()}, read every
 * {@value #PLAN_POLL_MS} ms; NORMAL without cluster state) while the cluster configuration names this node: NORMAL,
 * one {@link Receiver} per configured peer; RECOVERY, a single recovery receiver from the donor, which applies the
 * donor's WAL of every origin serially until the donor's generation marker ({@link RecoveryApplier}) and reports its
 * progress in {@link #recovery()}; NONE, none. On a change every old receiver is stopped before a new one starts
 * (an origin serves one session at a time). Every normal receiver's PREPARE of an {@code MTM-} gid passes the
 * generation gate {@link ClusterState#admitPrepare}. It answers {@code mtm.nodes()}'s receiver columns. Votes go
 * to coordinators over the transport.
 *
 * <p>Configuration ({@code org.mtm.multimaster}): {@code max_workers} apply workers per peer (capped by
 * {@code max_replication_slots}, which also bounds the replication origins the workers use);
 * {@code heartbeat_recv_timeout} gives the lock bound of every apply ({@link ApplierSettings#lockTimeoutFor}), capped by
 * the local server's {@code deadlock_timeout} ({@link ApplierSettings#sessionLockTimeout});
 * {@code deadlock_prevention} off/simple/smart ({@link DeadlockPrevention}); {@code enable_async_3pc_on_catchup}
 * (recovery's one-phase asynchronous apply, {@link RecoveryApplier}). {@code binary_basetypes} is
 * read but values are always streamed as text for now. A change restarts the receivers (nothing is lost).
 * The optional {@link ClusterState} tells whether this node is online and in which generation: PREPAREs of
 * an older generation are refused, and a node that is not online retries instead of voting down.
 *
 * <p>A peer that falls silent (transport) has its receiver reconnected, since a replication connection
 * to a vanished host may otherwise wait forever; one that comes back is retried at once, and gets again the
 * votes for its transactions still prepared here and the acknowledgements of those just committed: one sent
 * while the link was down (this node restarting and streaming before its links are up, a peer restarting) is
 * lost, and the coordinator would wait for it.
 *
 * <p>Deactivation (bundle update, a referenced service going away) stops every receiver promptly:
 * open apply transactions are rolled back and streamed again by the next activation from the
 * replication origins' progress, so nothing is lost or applied twice.
 */
@Component(immediate = true, service = {Applier.class, ClusterConfigListener.class, PeerConnectivityListener.class,
        PeerMessageHandler.class},
        property = PeerMessageHandler.CHANNEL_PROPERTY + ":Integer=" + Channels.COMMIT,
        configurationPid = "org.mtm.multimaster")
@Designate(ocd = ReceiverSupervisor.Config.class)
public final class ReceiverSupervisor implements Applier, ClusterConfigListener, PeerConnectivityListener, PeerMessageHandler {

    private static final Logger LOG = LoggerFactory.getLogger(ReceiverSupervisor.class);

    /** The part of {@code org.mtm.multimaster} this component reads. */
    @ObjectClassDefinition(name = "mtm applier", description = "How peers' transactions are applied (org.mtm.multimaster)")
    public @interface Config {
        @AttributeDefinition(description = "Apply workers per peer")
        int max__workers() default 100;

        @AttributeDefinition(description = "Peer silence (ms) after which it is disconnected; bounds apply lock waits (half of it)")
        int heartbeat__recv__timeout() default 2000;

        @AttributeDefinition(description = "off, simple (conflicting transactions are voted down at once) or smart"
            + " (a deterministic winner is kept)")
        String deadlock__prevention() default "off";

        @AttributeDefinition(description = "Do not replicate tables without a primary key (false: they are replicated,"
            + " identified by all their columns)")
        boolean ignore__tables__without__pk() default false;

        @AttributeDefinition(description = "Recovery applies each committed two-phase transaction as one asynchronously"
            + " committed transaction at its COMMIT PREPARED, durable at sync points (false: PREPARE and COMMIT PREPARED)")
        boolean enable__async__3pc__on__catchup() default true;

        @AttributeDefinition(description = "Sessions a one-phase catch-up (enable_async_3pc_on_catchup) applies committed"
            + " transactions with, besides the receiver's own (1: serial; at most max_workers and at most "
            + Replication.WORKER_ORIGINS_AHEAD + ", the worker origins made before a node's slots)")
        int catchup__workers() default 4;

        @AttributeDefinition(description = "true: a peer's transaction moves this node's sequences above the values it"
            + " wrote into the columns they feed, so ids grow across the cluster (false: node stride only)")
        boolean monotonic__sequences() default false;

        @AttributeDefinition(description = "Binary transfer of built-in types (not used yet: values travel as text)")
        boolean binary__basetypes() default true;

        @AttributeDefinition(description = "kB a transaction a peer's walsender decodes for this node may hold in memory"
            + " before it is spilled to disk (its logical_decoding_work_mem; at least 64)")
        int trans__spill__threshold() default ApplierSettings.DEFAULT_TRANS_SPILL_THRESHOLD_KB;
    }

    private final LocalDatabase database;
    private final VoteSender votes;
    /** The node's share of the cluster's wait-for graph (global deadlock detection); null in tests without one. */
    private final LockGraph lockGraph;
    private org.osgi.framework.ServiceRegistration<PeerMessageHandler> lockGraphHandler;
    /** Commits prepared copies at their coordinator's COMMIT decision; shares its claims with every normal receiver. */
    private final EarlyCommitter early;
    /**
     * Changed under this object's lock (reconcile, deactivate); read without it. Reconciling holds the lock while
     * receivers stop, which can take seconds, and the readers must not wait that long: the transport asks for the
     * heartbeat (recovery progress) on its I/O thread, and a heartbeat held up for heartbeat_recv_timeout makes the
     * peers drop this node — the fault battery saw a node's links go silent for 4.9 s after its PostgreSQL restarted.
     */
    private final Map<Integer, Receiver> receivers = new java.util.concurrent.ConcurrentHashMap<>();
    private final ApplierMetrics metrics = new ApplierMetrics(receivers::get);
    private final ScheduledExecutorService revoter = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-revote");
        t.setDaemon(true);
        return t;
    });
    /** Its own thread: following a plan waits for receivers to stop, and must not hold up votes. */
    private final ScheduledExecutorService planner = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-replication-plan");
        t.setDaemon(true);
        return t;
    });
    /** A vote still unanswered this long (its copy still prepared here) is sent again: the first may have been dropped. */
    static final long REVOTE_AFTER_MS = 2000;
    /** The re-voter's connection ({@link #revoteConnection}): used on its thread, closed after it stopped. */
    private Connection revoteConnection;
    /** The re-voter's thread and tests' direct calls share that connection one at a time. */
    private final Object revoteLock = new Object();
    private ApplierSettings settings;
    private volatile Optional<ClusterConfig> config = Optional.empty();
    private boolean active = true;
    /** The replication plan the receivers follow (DESIGN §3); polled from the cluster state. Written under the lock. */
    private volatile ReplicationPlan plan = ReplicationPlan.NORMAL;
    /**
     * The donors found without the WAL this node needs (their recovery receiver said so): never a donor again while
     * this node runs; consensus records the node disabled once no donor is left (guarded by walGoneLock).
     */
    private NodeSet walGone = NodeSet.EMPTY;
    private final Object walGoneLock = new Object();
    /** How often the replication plan is read from the cluster state. */
    static final long PLAN_POLL_MS = 150;

    /** Optional and dynamic: consensus references the Applier too. Without it no PREPARE is refused for its generation. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile ClusterState clusterState;

    @Activate
    public ReceiverSupervisor(@Reference(name = "database") LocalDatabase database,
                              @Reference(name = "transport") Transport transport, Config config,
                              org.osgi.framework.BundleContext context) {
        this(database, (node, message) -> send(transport, node, message), settingsOf(config),
                new LockGraph(report -> transport.broadcast(Channels.LOCK_GRAPH, report)));
        // the graph's own channel: this component's service property names the COMMIT channel only
        lockGraphHandler = context.registerService(PeerMessageHandler.class, lockGraph::received,
                new java.util.Hashtable<>(java.util.Map.of(PeerMessageHandler.CHANNEL_PROPERTY, Channels.LOCK_GRAPH)));
        revoter.scheduleWithFixedDelay(this::resendStaleVotes, REVOTE_AFTER_MS, REVOTE_AFTER_MS, TimeUnit.MILLISECONDS);
        followPlanEvery(PLAN_POLL_MS);
    }

    /** Starts polling the replication plan (the OSGi constructor does; tests may). */
    void followPlanEvery(long ms) {
        planner.scheduleWithFixedDelay(this::followPlan, 0, ms, TimeUnit.MILLISECONDS);
    }

    /** Without OSGi (tests): votes go to {@code votes}. */
    ReceiverSupervisor(LocalDatabase database, VoteSender votes, ApplierSettings settings) {
        this(database, votes, settings, null);
    }

    /** Without OSGi (tests): votes go to {@code votes}, waits to {@code lockGraph} (null: none shared). */
    ReceiverSupervisor(LocalDatabase database, VoteSender votes, ApplierSettings settings, LockGraph lockGraph) {
        this.database = database;
        this.votes = votes;
        this.settings = settings;
        this.lockGraph = lockGraph;
        this.early = new EarlyCommitter(database, votes, new EarlyFinishes());
    }

    @Modified
    void modified(Config config) {
        apply(settingsOf(config));
    }

    synchronized void apply(ApplierSettings next) {
        if (next.equals(settings)) {
            return;
        }
        LOG.info("applier settings changed: {} -> {}; restarting receivers", settings, next);
        settings = next;
        reconcile();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.attach(shared);
    }

    void unbindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.detach(shared);
    }

    @Deactivate
    void deactivate() {
        if (lockGraphHandler != null) {
            try {
                lockGraphHandler.unregister();
            } catch (IllegalStateException e) {
                // the bundle is stopping: its services are gone already
            }
        }
        List<Receiver> stopping;
        synchronized (this) {
            active = false;
            stopping = new ArrayList<>(receivers.values());
            receivers.clear();
        }
        planner.shutdownNow();
        stopAll(stopping);
        early.close();
        revoter.shutdownNow();
        try {
            // the re-voter's connection is closed once its thread has finished any round in progress
            revoter.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (revoteLock) {
            closeRevoteConnection();
        }
        metrics.close();
    }

    @Override
    public synchronized void clusterConfigChanged(Optional<ClusterConfig> next) {
        config = next;
        reconcile();
    }

    @Override
    public RecoveryProgress recovery() {
        // without this object's lock: see receivers
        ReplicationPlan p = plan;
        Receiver r;
        NodeSet gone;
        synchronized (walGoneLock) {
            if (p.mode() != ReplicationPlan.Mode.RECOVERY) {
                return RecoveryProgress.NONE.withWalGone(walGone);
            }
            r = receivers.get(p.donor());
            if (r != null && r.mode() == ReceiverMode.RECOVERY && r.walGone() != null) {
                walGone = walGone.with(r.peer().id()); // before the plan can move on to another donor
            }
            gone = walGone;
        }
        return (r == null || r.mode() != ReceiverMode.RECOVERY ? new RecoveryProgress(p.donor(), 0, false, -1)
                : r.recoveryProgress()).withWalGone(gone);
    }

    @Override
    public Optional<String> stalled() {
        List<Receiver> all = new ArrayList<>(receivers.values()); // without the lock: see receivers
        for (Receiver r : all) {
            Optional<String> cause = r.stall();
            if (cause.isPresent()) {
                return Optional.of("node " + self() + " cannot apply a transaction of node " + r.peer().id()
                        + " that was committed there outside the cluster's commit: " + cause.get());
            }
        }
        return Optional.empty();
    }

    @Override
    public Optional<ReceiverInfo> receiver(int peer) {
        Optional<ClusterConfig> c = config; // without the lock: see receivers
        if (c.isEmpty() || c.get().node(peer).isEmpty() || c.get().selfId() == peer) {
            return Optional.empty();
        }
        Receiver r = receivers.get(peer);
        return Optional.of(r == null ? ReceiverInfo.disabled(peer) : r.info());
    }

    /**
     * On {@link Channels#COMMIT}, beside the coordinator: a COMMIT decision from a transaction's own coordinator commits
     * this node's prepared copy now ({@link EarlyCommitter}); an ABORT decision stops its apply here, if it runs
     * ({@link MessageApplier#abortDecided}). Everything else on the channel is the coordinator's.
     */
    @Override
    public void onMessage(int fromNode, byte[] payload) {
        CommitMessage m;
        try {
            m = CommitMessage.decode(payload);
        } catch (IllegalArgumentException e) {
            return; // the coordinator logs it
        }
        if (m.kind() == Kind.COMMIT && fromNode == m.gid().originNode() && fromNode != self()) {
            early.commitDecided(m.gid());
        } else if (m.kind() == Kind.ABORT && fromNode == m.gid().originNode() && fromNode != self()) {
            Receiver r = receivers.get(fromNode); // on the transport's thread: only marks the apply, never waits
            if (r != null) {
                r.abortDecided(m.gid().toString());
            }
        }
    }

    @Override
    public void peerReachable(int node) {
        Receiver r = receivers.get(node); // called on the transport's thread: never wait for the lock
        if (r != null) {
            r.retryNow();
        }
        try {
            revoter.execute(() -> resendVotes(node));
        } catch (RejectedExecutionException e) {
            // deactivating
        }
    }

    /**
     * Sends PREPARED again for every transaction of coordinator {@code node} that is prepared here (applied and
     * prepared means voted yes), and COMMITTED again for those committed here in the last minute (the coordinator
     * may wait for that acknowledgement with {@code wait_peer_commits}). The coordinator ignores answers about
     * transactions it is not waiting for. Returns how many messages went.
     */
    int resendVotes(int node) {
        synchronized (revoteLock) {
            return resendVotesNow(node);
        }
    }

    private int resendVotesNow(int node) {
        int sent = 0;
        try {
            Connection c = revoteConnection();
            sent += resend(c, node, Kind.PREPARED, "SELECT gid FROM pg_catalog.pg_prepared_xacts"
                    + " WHERE database = pg_catalog.current_database() AND gid LIKE ?");
            sent += resend(c, node, Kind.COMMITTED, "SELECT gid FROM mtm.applied_xacts WHERE gid LIKE ?"
                    + " AND applied_at > pg_catalog.now() - interval '1 minute'");
        } catch (SQLException | RuntimeException e) {
            LOG.warn("node {}: cannot send again the votes and acknowledgements for node {}'s transactions: {}", self(), node,
                    e.getMessage());
            closeRevoteConnection();
        }
        if (sent > 0) {
            LOG.info("node {}: sent again {} vote(s)/acknowledgement(s) for node {}'s transactions", self(), sent, node);
        }
        return sent;
    }

    /**
     * Sends PREPARED again for every peer's transaction prepared here for longer than {@link #REVOTE_AFTER_MS}: a
     * vote the transport could not deliver (no link at that moment, a queue full) is not lost, and a coordinator that
     * decided meanwhile ignores it. Returns how many went.
     */
    int resendStaleVotes() {
        synchronized (revoteLock) {
            return resendStaleVotesNow();
        }
    }

    private int resendStaleVotesNow() {
        int self = self();
        if (self == 0) {
            return 0;
        }
        int sent = 0;
        try (PreparedStatement ps = revoteConnection().prepareStatement("SELECT gid FROM pg_catalog.pg_prepared_xacts"
                + " WHERE database = pg_catalog.current_database() AND gid LIKE 'MTM-%' AND gid NOT LIKE ?"
                + " AND prepared < pg_catalog.now() - ? * interval '1 millisecond'")) {
            ps.setString(1, Gid.PREFIX + self + "-%");
            ps.setLong(2, REVOTE_AFTER_MS);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Gid gid = Gid.tryParse(rs.getString(1));
                    if (gid != null) {
                        votes.send(gid.originNode(), CommitMessage.of(Kind.PREPARED, gid));
                        sent++;
                    }
                }
            }
        } catch (SQLException | RuntimeException e) {
            LOG.debug("node {}: cannot send stale votes again: {}", self, e.getMessage());
            closeRevoteConnection();
        }
        return sent;
    }

    /**
     * The re-voter's connection (under revoteLock), kept open between rounds: opened anew every
     * {@value #REVOTE_AFTER_MS} ms it was the only connection a node opened and closed under steady load — a
     * backend forked, authenticated and torn down for one query. Closed after a failure and opened again next time.
     */
    private Connection revoteConnection() throws SQLException {
        Connection c = revoteConnection;
        if (c == null || c.isClosed()) {
            c = database.connect();
            c.setAutoCommit(true);
            revoteConnection = c;
        }
        return c;
    }

    private void closeRevoteConnection() {
        Connection c = revoteConnection;
        revoteConnection = null;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // gone already
            }
        }
    }

    /** Sends {@code kind} to {@code node} for each of its gids {@code query} finds (its parameter: the gid prefix). */
    private int resend(Connection c, int node, Kind kind, String query) throws SQLException {
        int sent = 0;
        try (PreparedStatement ps = c.prepareStatement(query)) {
            ps.setString(1, Gid.PREFIX + node + "-%");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Gid gid = Gid.tryParse(rs.getString(1)); // null: a user's gid that only looks like ours
                    if (gid != null) {
                        votes.send(node, CommitMessage.of(kind, gid));
                        sent++;
                    }
                }
            }
        }
        return sent;
    }

    @Override
    public void peerUnreachable(int node) {
        Receiver r = receivers.get(node); // called on the transport's thread: never wait for the lock
        if (r != null) {
            r.reconnect();
        }
    }

    private int self() {
        return config.map(ClusterConfig::selfId).orElse(0);
    }

    /** The generation this node is online in; -1 when it is not online; 0 without cluster state (see StreamApplier). */
    private long currentGeneration() {
        ClusterState s = clusterState;
        if (s == null) {
            return 0;
        }
        return s.status() == NodeStatus.ONLINE ? s.currentGeneration().num() : -1;
    }

    /**
     * Starts, stops or restarts receivers so that they are what the replication plan asks for: NORMAL, one per
     * configured peer; RECOVERY, one recovery receiver from the donor; NONE, none. Every receiver that must go is
     * stopped before any new one starts: a replication origin serves one session at a time.
     */
    private void reconcile() {
        if (!active) {
            return;
        }
        int self = config.map(ClusterConfig::selfId).orElse(0);
        Map<Integer, ClusterNode> peers = new HashMap<>();
        // a node added (mtm.add_node) that has not joined yet has no transport port and no PostgreSQL of its own
        config.ifPresent(c -> c.peers().stream().filter(p -> p.transport().port() != 0).forEach(p -> peers.put(p.id(), p)));
        Map<Integer, ClusterNode> wanted = new HashMap<>();
        ReceiverMode mode = switch (plan.mode()) {
            case NONE -> ReceiverMode.DISABLED;
            case NORMAL -> {
                wanted.putAll(peers);
                yield ReceiverMode.NORMAL;
            }
            case RECOVERY -> {
                ClusterNode donor = peers.get(plan.donor());
                if (donor != null) {
                    wanted.put(donor.id(), donor);
                } else {
                    LOG.warn("node {}: the recovery plan names donor {}, which is not a configured peer", self, plan.donor());
                }
                yield ReceiverMode.RECOVERY;
            }
        };
        List<Receiver> stopping = new ArrayList<>();
        for (var it = receivers.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Integer, Receiver> e = it.next();
            Receiver r = e.getValue();
            ClusterNode p = wanted.get(e.getKey());
            if (p == null || !Objects.equals(p.conninfo(), r.peer().conninfo()) || !r.settings().equals(settings)
                    || r.self() != self || r.mode() != mode
                    || (mode == ReceiverMode.NORMAL && r.peers() != peers.size())
                    || (mode == ReceiverMode.RECOVERY && r.untilGeneration() != plan.untilGeneration())) {
                stopping.add(r);
                it.remove();
            }
        }
        stopAll(stopping);
        for (ClusterNode p : wanted.values()) {
            if (!receivers.containsKey(p.id())) {
                Receiver r;
                if (mode == ReceiverMode.RECOVERY) {
                    LOG.info("node {}: starting {}", self, plan);
                    // the marker the previous recovery of this donor applied (see Receiver.recovery)
                    long markerApplied = stopping.stream()
                        .filter(old -> old.mode() == ReceiverMode.RECOVERY && old.peer().id() == p.id())
                        .mapToLong(Receiver::markerGeneration).max().orElse(0);
                    r = Receiver.recovery(self, p, database, settings, plan.untilGeneration(), markerApplied);
                } else {
                    LOG.info("node {}: starting the receiver for node {}", self, p.id());
                    r = new Receiver(self, p, database, votes, settings, this::currentGeneration, this::admitPrepare, peers.size())
                            .earlyFinishes(early.finishes()).lockGraph(lockGraph);
                }
                r.lag().countTo(metrics.applied());
                metrics.peer(p.id());
                receivers.put(p.id(), r.start());
            }
        }
    }

    /** The generation gate of every normal receiver's PREPARE (no cluster state: nothing is refused). */
    private org.mtm.api.PrepareAdmission admitPrepare(long generation) {
        ClusterState s = clusterState;
        return s == null ? PrepareGate.OPEN.admit(generation) : s.admitPrepare(generation);
    }

    /** The plan to follow now: the cluster state's, or NORMAL without one (today's behaviour). */
    private ReplicationPlan wantedPlan() {
        ClusterState s = clusterState;
        if (s == null) {
            return ReplicationPlan.NORMAL;
        }
        ReplicationPlan p = s.replicationPlan();
        return p == null ? ReplicationPlan.NONE : p;
    }

    /** Polled every {@value #PLAN_POLL_MS} ms: follows a change of the replication plan. */
    void followPlan() {
        ReplicationPlan next;
        try {
            next = wantedPlan();
        } catch (RuntimeException e) {
            LOG.debug("node {}: cannot read the replication plan: {}", self(), e.toString());
            return;
        }
        synchronized (this) {
            if (next.equals(plan)) {
                return;
            }
            LOG.info("node {}: replication plan changed: {} -> {}", config.map(ClusterConfig::selfId).orElse(0), plan, next);
            plan = next;
            reconcile();
        }
    }

    /** Tests without OSGi: the cluster state whose plan and generation gate the receivers follow (null: none). */
    void clusterState(ClusterState state) {
        this.clusterState = state;
        followPlan();
    }

    private static void stopAll(List<Receiver> receivers) {
        // in parallel: each stop may wait for its thread
        CompletableFuture.allOf(receivers.stream()
                .map(r -> CompletableFuture.runAsync(r::stop))
                .toArray(CompletableFuture[]::new)).join();
    }

    private static void send(Transport transport, int node, CommitMessage message) {
        if (!transport.send(node, Channels.COMMIT, message.encode())) {
            LOG.debug("no link to node {}: {} of {} not sent", node, message.kind(), message.gid());
        }
    }

    private static ApplierSettings settingsOf(Config config) {
        if (config.max__workers() < 1) {
            LOG.warn("max_workers={} in org.mtm.multimaster is below 1; using 1", config.max__workers());
        }
        DeadlockPrevention prevention = DeadlockPrevention.parse(config.deadlock__prevention()).orElseGet(() -> {
            LOG.warn("deadlock_prevention='{}' in org.mtm.multimaster is not off, simple or smart; using off",
                    config.deadlock__prevention());
            return DeadlockPrevention.OFF;
        });
        if (config.catchup__workers() < 1) {
            LOG.warn("catchup_workers={} in org.mtm.multimaster is below 1; using 1 (serial catch-up)", config.catchup__workers());
        } else if (config.catchup__workers() > Replication.WORKER_ORIGINS_AHEAD) {
            LOG.warn("catchup_workers={} in org.mtm.multimaster is above {}, the worker origins every node makes before its"
                + " replication slots; using {}", config.catchup__workers(), Replication.WORKER_ORIGINS_AHEAD,
                Replication.WORKER_ORIGINS_AHEAD);
        }
        int spill = config.trans__spill__threshold();
        if (spill < ApplierSettings.MIN_TRANS_SPILL_THRESHOLD_KB) {
            LOG.warn("trans_spill_threshold={} in org.mtm.multimaster is below {} kB, PostgreSQL's smallest"
                + " logical_decoding_work_mem; using {}", spill, ApplierSettings.MIN_TRANS_SPILL_THRESHOLD_KB,
                ApplierSettings.MIN_TRANS_SPILL_THRESHOLD_KB);
            spill = ApplierSettings.MIN_TRANS_SPILL_THRESHOLD_KB;
        }
        return new ApplierSettings(ApplierSettings.lockTimeoutFor(config.heartbeat__recv__timeout()),
                Math.max(1, config.max__workers()), prevention, config.ignore__tables__without__pk(),
                config.enable__async__3pc__on__catchup(), config.monotonic__sequences(),
                Math.max(1, Math.min(Replication.WORKER_ORIGINS_AHEAD, config.catchup__workers())), spill);
    }
}
