package org.mtm.consensus.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.mtm.api.Applier;
import org.mtm.api.Channels;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterConfigListener;
import org.mtm.api.ClusterNode;
import org.mtm.api.ClusterState;
import org.mtm.api.Generation;
import org.mtm.api.HeartbeatSource;
import org.mtm.api.LocalDatabase;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.PeerConnectivityListener;
import org.mtm.api.PeerMessageHandler;
import org.mtm.api.PrepareAdmission;
import org.mtm.api.RecoveryProgress;
import org.mtm.api.ReplicationPlan;
import org.mtm.consensus.internal.generation.NodePlan;
import java.util.concurrent.locks.Lock;
import org.mtm.api.ReceiverInfo;
import org.mtm.api.RefereeReport;
import org.mtm.api.StatusReport;
import org.mtm.api.Transport;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's view of the cluster: identity and generation from the durable state in schema {@code mtm},
 * connectivity from the transport and the peers' heartbeat beacons, status by {@link StatusRules}.
 * Holds nothing that is not rebuilt from PostgreSQL and live heartbeats on activation.
 */
@Component(immediate = true, service = {ClusterState.class, ClusterConfigListener.class, HeartbeatSource.class, PeerMessageHandler.class,
    PeerConnectivityListener.class, GenerationInbox.class},
    property = PeerMessageHandler.CHANNEL_PROPERTY + ":Integer=" + Channels.HEARTBEAT,
    configurationPid = "org.mtm.multimaster")
@Designate(ocd = MultimasterConfig.class)
public final class ClusterStateService implements ClusterState, ClusterConfigListener, HeartbeatSource,
    PeerMessageHandler, PeerConnectivityListener, GenerationInbox, GenerationRunner.Host {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterStateService.class);
    static final long PUBLISH_INTERVAL_MS = 500;
    static final long RELOAD_DELAY_MS = 1000;

    private final LocalDatabase database;
    private final GenerationGate gate;
    /** The generation protocol of this node; started once the node knows its id. */
    private volatile GenerationRunner runner;
    private final Map<Integer, PeerBeacon> beacons = new ConcurrentHashMap<>();

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile Transport transport;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile Applier applier;

    /** Drains the members' commits before a planned switch this node elects; absent while the hold service restarts. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile SwitchDrain switchDrain;

    private static final byte[] NO_BEACON = new byte[0];
    private volatile Optional<ClusterConfig> config = Optional.empty();
    private volatile GenerationState state = GenerationState.NONE;
    /** Why the node cannot recover by itself (mtm.generation_state.disabled_because); null: it can. */
    private volatile String disabledBecause;
    /** Joined by mtm.join_node, its own replication slots not made yet: it must not go online (see GenerationStore). */
    private volatile boolean joinSlotsPending;
    /** Configuration and generation state read from PostgreSQL at least once (see {@link #loaded()}). */
    private volatile boolean loaded;
    /** How long {@link #status()} is reused for inputs that change by time or peers' messages. */
    static final long STATUS_REUSE_MICROS = 2_000;
    private final StatusMemo statusMemo = new StatusMemo(TimeUnit.MICROSECONDS.toNanos(STATUS_REUSE_MICROS), System::nanoTime);
    /** The configuration the catalog announced last; reloaded after a failed read (guarded by this). */
    private Optional<ClusterConfig> announced;
    private boolean reloadScheduled;
    private final ScheduledExecutorService publisher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-live-status");
        t.setDaemon(true);
        return t;
    });
    /** The publisher's own connection and what it wrote last (see {@link LiveStatusWriter}); null: none open. */
    private LiveStatusWriter publishWriter;
    private volatile boolean publishing;
    private String lastPublishError;
    /** The stall last logged (see {@link #stalled()}). */
    private volatile String reportedStall;

    /** The referee of a 2+1 cluster ({@code referee_connstring}); null when none is configured. */
    private volatile RefereeClient referee;
    private String refereeConnstring = "";

    @Activate
    public ClusterStateService(@Reference(name = "database") LocalDatabase database,
                               @Reference(name = "gate") GenerationGate gate, MultimasterConfig config) {
        this.database = database;
        this.gate = gate;
        configure(config);
    }

    /** Without configuration (tests): no referee. */
    ClusterStateService(LocalDatabase database, GenerationGate gate) {
        this(database, gate, null);
    }

    /** {@code referee_connstring} applies live: a new referee client replaces the old one. */
    @Modified
    void modified(MultimasterConfig config) {
        configure(config);
    }

    private synchronized void configure(MultimasterConfig config) {
        String connstring = config == null || config.referee__connstring() == null ? "" : config.referee__connstring().trim();
        if (connstring.equals(refereeConnstring)) {
            return;
        }
        refereeConnstring = connstring;
        RefereeClient old = referee;
        referee = null;
        if (old != null) {
            old.stop();
        }
        startReferee();
    }

    /** Starts the referee client once both the connstring and this node's id are known. */
    private synchronized void startReferee() {
        int self = selfId();
        if (referee != null || refereeConnstring.isEmpty() || self == 0) {
            return;
        }
        try {
            RefereeClient r = new RefereeClient(self, refereeConnstring);
            r.start();
            referee = r;
            LOG.info("node {}: 2+1 mode: referee {}", self, r.conninfo());
        } catch (IllegalArgumentException e) {
            LOG.error("node {}: referee_connstring is not a valid conninfo ({}); no referee", self, e.getMessage());
        }
    }

    @Override
    public RefereeClient refereeClient() {
        return referee;
    }

    @Override
    public Optional<RefereeReport> referee() {
        RefereeClient r = referee;
        return r == null ? Optional.empty() : Optional.of(r.report());
    }

    /**
     * Reads nothing of {@code org.mtm.multimaster} (the PID is designated for its metatype only): without this, a
     * live change of any key there (monotonic_sequences...) would rebuild the node's view of the cluster, which then
     * reports node 0, generation 0 until it has reloaded the catalog.
     */
    @Modified
    void modified() {
        // nothing to apply
    }

    @Deactivate
    void deactivate() {
        synchronized (this) {
            if (runner != null) {
                runner.stop();
            }
            if (referee != null) {
                referee.stop();
                referee = null;
            }
        }
        publisher.shutdownNow();
        try {
            publisher.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closePublishConnection();
    }

    /**
     * Refreshes the view behind {@code mtm.status()} / {@code mtm.nodes()} (written when it changed, see
     * {@link LiveStatusWriter}); those functions treat a view not refreshed for a few intervals as "no mtm node
     * running beside this server".
     */
    private void publish() {
        if (!loaded) {
            // a peer connecting before the state is read (a restart) would publish node 0, generation 0: mtm.status()
            // showed the generation going back to 0 for a moment (the fault battery's generation check)
            return;
        }
        try {
            if (publishWriter == null || !publishWriter.connection().isValid(1)) {
                closePublishConnection();
                publishWriter = new LiveStatusWriter(database.connect());
            }
            publishWriter.publish(statusReport(), nodeReports(), referee().orElse(null));
            lastPublishError = null;
        } catch (SQLException | RuntimeException e) {
            if (!String.valueOf(e.getMessage()).equals(lastPublishError)) {
                LOG.warn("node {}: cannot publish live status for mtm.status(): {}", selfId(), e.getMessage());
                lastPublishError = String.valueOf(e.getMessage());
            }
            closePublishConnection();
        }
    }

    /** Tests: waits until every publication queued so far has run. */
    void awaitPublisherIdle(long timeout, TimeUnit unit) throws Exception {
        publisher.submit(() -> { }).get(timeout, unit);
    }

    private void publishSoon() {
        try {
            publisher.execute(this::publish);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // deactivating: nothing more to publish
        }
    }

    private void closePublishConnection() {
        if (publishWriter != null) {
            try {
                publishWriter.connection().close();
            } catch (SQLException ignored) {
                // closing a broken connection; a new one is opened next time
            }
            publishWriter = null;
        }
    }

    @Override
    public void clusterConfigChanged(Optional<ClusterConfig> newConfig) {
        synchronized (this) {
            announced = newConfig;
        }
        load(newConfig);
    }

    /** Reads the generation state for {@code newConfig}; a failed read is retried until one succeeds. */
    private synchronized void load(Optional<ClusterConfig> newConfig) {
        GenerationState loaded = null;
        String disabled;
        try (Connection c = database.connect()) {
            loaded = GenerationStore.load(c);
            disabled = GenerationStore.disabledBecause(c);
            joinSlotsPending = GenerationStore.joinSlotsPending(c);
        } catch (SQLException e) {
            LOG.warn("node {}: cannot read mtm.generation_state ({}); {}retrying in {} ms", selfId(), e.getMessage(),
                this.loaded ? "keeping the previous state, " : "admitting no work until it is read, ", RELOAD_DELAY_MS);
            scheduleReload();
            return;
        }
        if (this.loaded && newConfig.equals(config) && behind(loaded, state)) {
            // a save by the generation runner ran between this read and now: the row only moves forward, keep it
            loaded = state;
        }
        boolean changed = !newConfig.equals(config) || !loaded.equals(state) || !this.loaded;
        if (disabled != null && disabledBecause == null) {
            LOG.error("node {}: disabled: {}", newConfig.map(ClusterConfig::selfId).orElse(0), disabled);
        }
        disabledBecause = disabled;
        state = loaded; // before config: a beacon is sent once config is set, and must carry the loaded state
        gate.loaded(loaded.current().num());
        config = newConfig;
        this.loaded = true;
        statusMemo.invalidate();
        int self = selfId();
        if (runner == null && self != 0) {
            runner = new GenerationRunner(this, self);
            runner.start();
        }
        startReferee();
        beacons.keySet().removeIf(id -> newConfig.map(cfg -> cfg.node(id).isEmpty()).orElse(true));
        // the catalog calls this first once schema mtm is installed: only then can the view be published — and only
        // after the state is loaded, or mtm.status() would show generation 0 for a moment after a restart
        if (!publishing) {
            publishing = true;
            try {
                publisher.scheduleWithFixedDelay(this::publish, 0, PUBLISH_INTERVAL_MS, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                return; // deactivated meanwhile
            }
        } else if (changed) {
            publishSoon();
        }
        if (changed) {
            LOG.info("node {}: cluster configuration {} loaded, {}", selfId(),
                newConfig.map(cfg -> cfg.configured().toString()).orElse("(none)"), loaded.current());
        }
    }

    /** {@code a} is older than {@code b} in the order {@link GenerationStore#save} moves the stored row. */
    static boolean behind(GenerationState a, GenerationState b) {
        long ga = a.current().num();
        long gb = b.current().num();
        if (ga != gb) {
            return ga < gb;
        }
        return a.lastVote() != b.lastVote() ? a.lastVote() < b.lastVote() : a.lastOnlineIn() < b.lastOnlineIn();
    }

    private void scheduleReload() {
        if (reloadScheduled) {
            return;
        }
        reloadScheduled = true;
        try {
            publisher.schedule(() -> {
                Optional<ClusterConfig> latest;
                synchronized (this) {
                    reloadScheduled = false;
                    latest = announced;
                }
                load(latest);
            }, RELOAD_DELAY_MS, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            reloadScheduled = false; // deactivated
        }
    }

    @Override
    public boolean loaded() {
        return loaded;
    }

    @Override
    public int selfId() {
        return config.map(ClusterConfig::selfId).orElse(0);
    }

    @Override
    public Generation currentGeneration() {
        return state.current();
    }

    /** Reused for {@value #STATUS_REUSE_MICROS} µs ({@link StatusMemo}); {@link #statusReport()} computes afresh. */
    @Override
    public NodeStatus status() {
        return statusMemo.get(() -> statusOf(connectivity()));
    }

    /**
     * Until the transport's view has settled a restarted node cannot know the generation its peers moved to, so a
     * member counts as isolated (admits no work) rather than online in what may be an old generation.
     */
    private NodeStatus statusOf(Connectivity view) {
        NodeStatus status = decide(view).status();
        Transport t = transport;
        if (status == NodeStatus.ONLINE && (t == null || !t.settled())) {
            return NodeStatus.ISOLATED;
        }
        return status == NodeStatus.ONLINE && stalled().isPresent() ? NodeStatus.DISABLED : status;
    }

    /**
     * A receiver stuck on a transaction this node can neither apply nor vote down (issue 8, part 4): the node says
     * {@code disabled}, and the gateway admits no work, until it applies (the applier logs the cause at ERROR).
     */
    private Optional<String> stalled() {
        Applier a = applier;
        Optional<String> cause = a == null ? Optional.empty() : a.stalled();
        String text = cause.orElse(null);
        if (!java.util.Objects.equals(text, reportedStall)) {
            reportedStall = text;
            if (text != null) {
                LOG.error("node {}: disabled: {}", selfId(), text);
            } else {
                LOG.info("node {}: no longer disabled: its receivers apply again", selfId());
            }
        }
        return cause;
    }

    private NodePlan.Decision decide(Connectivity view) {
        GenerationState s = state;
        GenerationRunner r = runner;
        NodeSet configured = s.current().configured();
        return NodePlan.decide(selfId(), s, disabledBecause != null, view.clique(configured), view.connected(),
            view.newestGenerationWithoutSelf(configured), r != null && r.electionRunning(), recovery());
    }

    @Override
    public RecoveryProgress recovery() {
        Applier a = applier;
        return a == null ? RecoveryProgress.NONE : a.recovery();
    }

    @Override
    public GenerationState state() {
        return state;
    }

    @Override
    public Transport transport() {
        return transport;
    }

    @Override
    public void save(GenerationState next, boolean marker, boolean switching) throws Exception {
        GenerationStore.Writer write = () -> {
            try (Connection c = database.connect()) {
                GenerationStore.save(c, next, marker);
            }
            synchronized (this) { // a concurrent load() compares with it (see behind)
                state = next;
            }
            statusMemo.invalidate();
        };
        if (switching) {
            gate.switchTo(next.current().num(), write::run);
        } else {
            write.run();
        }
        publishSoon();
    }

    @Override
    public CompletionStage<SwitchDrain.Drain> drainBeforeSwitch(Generation current, long drainMs, long holdMs) {
        SwitchDrain d = switchDrain;
        return d == null ? CompletableFuture.completedFuture(GenerationRunner.NOT_DRAINED)
            : d.drainBeforeSwitch(current, drainMs, holdMs);
    }

    @Override
    public Generation dropNode(int node) throws ClusterAdminException {
        return changeConfigured(node, false);
    }

    @Override
    public Generation addNode(int node) throws ClusterAdminException {
        return changeConfigured(node, true);
    }

    /**
     * Read again (every half second at most) while it is true: the row's deletion changes no configuration, so the
     * catalog's notification does not reload this node's state for it.
     */
    @Override
    public boolean joinSlotsPending() {
        if (!joinSlotsPending) {
            return false;
        }
        long now = System.nanoTime();
        if (now - joinSlotsCheckedAt >= TimeUnit.MILLISECONDS.toNanos(500)) {
            joinSlotsCheckedAt = now;
            try (Connection c = database.connect()) {
                joinSlotsPending = GenerationStore.joinSlotsPending(c);
            } catch (SQLException e) {
                // PostgreSQL away for a moment: still pending, asked again next time
            }
        }
        return joinSlotsPending;
    }

    private volatile long joinSlotsCheckedAt = System.nanoTime();

    @Override
    public NodeSet known() {
        return config.map(ClusterConfig::configured).orElse(NodeSet.EMPTY);
    }

    private Generation changeConfigured(int node, boolean add) throws ClusterAdminException {
        String what = (add ? "add" : "drop") + " node " + node;
        GenerationRunner r = runner;
        if (r == null || !loaded) {
            throw new ClusterAdminException("55000", "cannot " + what + ": this node is not initialised or"
                + " its cluster state is not loaded yet");
        }
        try {
            return (add ? r.addNode(node) : r.dropNode(node))
                .get(GenerationRunner.CHANGE_TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof ClusterAdminException c) {
                throw c;
            }
            throw new ClusterAdminException("XX000", "cannot " + what + ": " + e.getCause(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new ClusterAdminException("40001", "cannot " + what + ": it did not finish in time; check"
                + " mtm.status() on the online nodes before retrying");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterAdminException("57014", "interrupted: " + what);
        }
    }

    @Override
    public boolean disabled() {
        return disabledBecause != null;
    }

    @Override
    public void disable(String why) throws Exception {
        try (Connection c = database.connect()) {
            GenerationStore.disable(c, why);
        }
        disabledBecause = why;
        statusMemo.invalidate();
        publishSoon();
    }

    @Override
    public Optional<String> disabledBecause() {
        return Optional.ofNullable(disabledBecause);
    }

    @Override
    public void onGenerationMessage(int fromNode, byte[] payload) {
        GenerationRunner r = runner;
        if (r != null) {
            r.onMessage(fromNode, payload);
        }
    }

    @Override
    public Connectivity connectivity() {
        Transport t = transport;
        NodeSet hears = t == null ? NodeSet.EMPTY : t.reachablePeers();
        return new Connectivity(selfId(), hears, beacons);
    }

    @Override
    public StatusReport statusReport() {
        Connectivity view = connectivity();
        GenerationState s = state;
        NodeStatus status = statusOf(view);
        Generation gen = s.current();
        NodeSet connected = view.connected();
        NodeSet online = StatusRules.membersOnline(selfId(), status, gen, connected, view.beacons());
        return new StatusReport(selfId(), status, connected, gen.num(), gen.members(), online, gen.configured());
    }

    @Override
    public List<NodeReport> nodeReports() {
        Optional<ClusterConfig> cfg = config;
        if (cfg.isEmpty()) {
            return List.of();
        }
        Connectivity view = connectivity();
        NodeSet connected = view.connected();
        Generation gen = state.current();
        Applier a = applier;
        List<NodeReport> rows = new ArrayList<>();
        NodeSet configured = gen.configured();
        for (ClusterNode n : cfg.get().nodes()) {
            if (!configured.isEmpty() && !configured.contains(n.id()) && n.id() != cfg.get().selfId()) {
                continue; // dropped: its catalog row goes a moment later (the catalog's notification)
            }
            boolean self = n.id() == cfg.get().selfId();
            ReceiverInfo r = self || a == null ? null : a.receiver(n.id()).orElse(ReceiverInfo.disabled(n.id()));
            rows.add(new NodeReport(n.id(), n.conninfo(), self, gen.isMember(n.id()), connected.contains(n.id()),
                r == null ? null : r.senderPid(), r == null ? null : r.receiverPid(), r == null ? 0 : r.workers(),
                r == null ? null : r.mode()));
        }
        return rows;
    }

    @Override
    public ReplicationPlan replicationPlan() {
        Transport t = transport;
        // until the transport's view settled a restarted node has not seen its peers' generations: streaming in the
        // generation it remembers would only be stopped again once it adopts theirs
        return loaded && t != null && t.settled() ? decide(connectivity()).plan() : ReplicationPlan.NONE;
    }

    /**
     * APPLY only for this node's current generation while it is a member online in it (normal mode); the admission
     * holds the gate's applier lock, so no switch (and no marker) comes between the verdict and the PREPARE.
     */
    @Override
    public PrepareAdmission admitPrepare(long generation) {
        Lock lock = gate.applierLock();
        lock.lock();
        GenerationState s = state;
        long current = s.current().num();
        if (generation == current && s.current().isMember(selfId()) && s.lastOnlineIn() == current) {
            return new PrepareAdmission() {
                private boolean open = true;

                @Override
                public Verdict verdict() {
                    return Verdict.APPLY;
                }

                @Override
                public long generation() {
                    return current;
                }

                @Override
                public void close() {
                    if (open) {
                        open = false;
                        lock.unlock();
                    }
                }
            };
        }
        lock.unlock();
        return PrepareAdmission.unchecked(generation < current ? PrepareAdmission.Verdict.REFUSE
            : PrepareAdmission.Verdict.WAIT, current);
    }

    /**
     * This node's beacon; none (an empty payload, which peers skip) until its configuration is loaded and its
     * transport has heard from its peers (or waited heartbeat_recv_timeout): after a bundle update it would
     * otherwise announce generation 0, or hearing nobody, and its peers would drop it from their clique —
     * and turn isolated — for the moment that takes.
     */
    @Override
    public byte[] heartbeatPayload() {
        Transport t = transport;
        if (config.isEmpty() || t == null || !t.settled()) {
            return NO_BEACON;
        }
        GenerationState s = state;
        NodeSet hears = t.reachablePeers();
        int self = selfId();
        RecoveryProgress p = recovery();
        long lag = p.donor() != 0 && !p.reached() ? p.lagBytes() : -1;
        return new PeerBeacon(s.current().num(), s.current().members(), s.donors(), s.lastOnlineIn(),
            self == 0 ? hears : hears.with(self), Math.max(-1, lag), s.current().configured()).encode();
    }

    @Override
    public long peersCatchUpLag() {
        NodeSet connected = connectivity().connected();
        long lag = -1;
        for (Map.Entry<Integer, PeerBeacon> e : beacons.entrySet()) {
            if (connected.contains(e.getKey())) {
                lag = Math.max(lag, e.getValue().catchUpLag());
            }
        }
        return lag;
    }

    @Override
    public void onMessage(int fromNode, byte[] payload) {
        if (payload.length == 0) {
            return; // the peer's state is not loaded (yet): keep what it said before
        }
        try {
            beacons.put(fromNode, PeerBeacon.decode(payload));
        } catch (IllegalArgumentException e) {
            LOG.warn("node {}: ignoring heartbeat from node {}: {}", selfId(), fromNode, e.getMessage());
        }
    }

    @Override
    public void peerReachable(int node) {
        publishSoon();
        LOG.info("node {}: peer {} connected", selfId(), node);
    }

    @Override
    public void peerUnreachable(int node) {
        beacons.remove(node);
        publishSoon();
        LOG.info("node {}: peer {} disconnected (silent for heartbeat_recv_timeout)", selfId(), node);
    }
}
