package org.mtm.consensus.internal.resolver;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.mtm.api.Channels;
import org.mtm.api.ClusterState;
import org.mtm.api.Gid;
import org.mtm.api.LocalDatabase;
import org.mtm.api.NodeSet;
import org.mtm.api.PeerMessageHandler;
import org.mtm.api.Transport;
import org.mtm.consensus.internal.resolver.Effect.Decided;
import org.mtm.consensus.internal.resolver.Effect.Send;
import org.mtm.consensus.internal.resolver.DeskBatch.Request;
import org.mtm.consensus.internal.resolver.ResolverMessage.Kind;
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
 * The resolver of this node (DESIGN §3): the acceptor every coordinator's precommit and every resolver's Paxos
 * round talks to, and the proposer that decides the transactions left prepared here by a coordinator that died,
 * restarted or lost contact. Moves bytes and rows in and out of the pure parts ({@link Acceptor},
 * {@link Proposer}, {@link InDoubtRules}).
 *
 * <ul>
 * <li>Acceptor desk (one thread): requests are handled in batches, one local transaction per batch — state read
 * and locked, rule applied, state written — and answered only after that transaction committed.</li>
 * <li>Resolver thread: the proposer's rounds and their timers, and every {@value #SCAN_MS} ms a scan of this
 * node's prepared copies: a copy whose outcome is recorded is finished, an orphaned one is resolved.</li>
 * <li>Finishing a copy: the outcome is recorded first, then COMMIT/ROLLBACK PREPARED — this node's own
 * transactions as local ones (their finish reaches the peers' streams), a peer's under the replication origin
 * {@value #ORIGIN}, so that other nodes' walsenders treat it as the applied copy it is.</li>
 * </ul>
 */
@Component(immediate = true, service = {PeerMessageHandler.class, InDoubtResolver.class},
    property = PeerMessageHandler.CHANNEL_PROPERTY + ":Integer=" + Channels.RESOLVER,
    configurationPid = "org.mtm.multimaster")
public final class ResolverService implements PeerMessageHandler, InDoubtResolver {

    private static final Logger LOG = LoggerFactory.getLogger(ResolverService.class);
    static final long SCAN_MS = 1000;
    static final long TICK_MS = 100;
    static final String ORIGIN = org.mtm.api.Replication.RESOLVER_ORIGIN;
    /** Decided rows of transactions no longer prepared here are kept this long, to answer late questions. */
    static final String RETENTION = "1 hour";

    /** The part of {@code org.mtm.multimaster} this component reads. */
    @ObjectClassDefinition
    public @interface Config {
        @AttributeDefinition
        int heartbeat__recv__timeout() default 2000;
    }

    private final ClusterState clusterState;
    private final Transport transport;
    private final LocalDatabase database;
    private final BlockingQueue<Request> deskQueue = new LinkedBlockingQueue<>();
    private final Thread desk;
    private final ScheduledExecutorService resolverThread = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "mtm-resolver"));
    private volatile Coordination coordination;
    private volatile boolean stopped;
    private volatile long patienceMs;
    private volatile long retryMs;
    /** Confined to the resolver thread. */
    private Proposer proposer;
    private int proposerSelf;
    private Connection deskConnection;
    private Connection scanConnection;
    private Connection originConnection;
    private long lastCleanup;
    /** Confined to the resolver thread. */
    private final CopyAges ages = new CopyAges();
    /** Transactions the proposer is deciding now (in doubt here), as of the last tick; read by the gauge. */
    private volatile int inDoubt;
    private final org.mtm.api.metrics.BundleMetrics metrics = new org.mtm.api.metrics.BundleMetrics();

    @Activate
    public ResolverService(@Reference(name = "clusterState") ClusterState clusterState,
                           @Reference(name = "transport") Transport transport,
                           @Reference(name = "database") LocalDatabase database, Config config) {
        this.clusterState = clusterState;
        this.transport = transport;
        this.database = database;
        modified(config);
        this.desk = daemon(this::deskLoop, "mtm-acceptor");
        desk.start();
        resolverThread.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
        resolverThread.scheduleWithFixedDelay(this::scan, SCAN_MS, SCAN_MS, TimeUnit.MILLISECONDS);
        metrics.registry().gauge("mtm.resolver.in_doubt", () -> () -> inDoubt);
    }

    @Reference(cardinality = org.osgi.service.component.annotations.ReferenceCardinality.OPTIONAL,
        policy = org.osgi.service.component.annotations.ReferencePolicy.DYNAMIC)
    void bindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.attach(shared);
    }

    void unbindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.detach(shared);
    }

    @Modified
    void modified(Config config) {
        int recv = Math.max(config.heartbeat__recv__timeout(), 100);
        // a peer's copy whose coordinator is reachable is left to it this long (it aborts or decides far sooner)
        patienceMs = Math.max(3L * recv, 10_000);
        retryMs = Math.max(recv / 4, 250);
    }

    @Deactivate
    void deactivate() {
        stopped = true;
        desk.interrupt();
        resolverThread.shutdownNow();
        try {
            desk.join(5000);
            resolverThread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close(deskConnection);
        close(scanConnection);
        close(originConnection);
        metrics.close();
    }

    // ---- the coordinator's side --------------------------------------------------------------------

    @Override
    public void attach(Coordination c) {
        coordination = c;
    }

    @Override
    public void detach(Coordination c) {
        if (coordination == c) {
            coordination = null;
        }
    }

    @Override
    public void requestPrecommit(Gid gid, NodeSet voters) {
        ResolverMessage m = ResolverMessage.accept(gid, Term.COORDINATOR, Proposal.PRECOMMIT);
        for (int voter : voters.ids()) {
            send(voter, m);
        }
    }

    @Override
    public void resolve(Gid gid, NodeSet voters) {
        onResolverThread(() -> {
            AcceptorState s = readState(gid);
            if (s != null) {
                apply(proposer().resolve(gid, voters, s.promised(), now()));
            }
        });
    }

    @Override
    public void coordinatorAtWork(Gid gid) {
        onResolverThread(() -> ages.refresh(gid, now()));
    }

    // ---- messages ----------------------------------------------------------------------------------

    @Override
    public void onMessage(int fromNode, byte[] payload) {
        ResolverMessage m;
        try {
            m = ResolverMessage.decode(payload);
        } catch (IllegalArgumentException e) {
            LOG.warn("node {}: ignoring malformed resolver message from node {}: {}", clusterState.selfId(), fromNode, e.getMessage());
            return;
        }
        receive(fromNode, m);
    }

    private void receive(int from, ResolverMessage m) {
        switch (m.kind()) {
            case PROPOSE, ACCEPT -> deskQueue.add(new Request(from, m));
            case DECIDED -> {
                deskQueue.add(new Request(from, m));
                onResolverThread(() -> apply(proposer().onMessage(from, m, now())));
            }
            case PROMISE, ACCEPTED -> {
                Coordination c = coordination;
                if (m.kind() == Kind.ACCEPTED && m.term().equals(Term.COORDINATOR)) {
                    if (c != null) {
                        c.precommitAnswered(from, m);
                    }
                } else {
                    onResolverThread(() -> apply(proposer().onMessage(from, m, now())));
                }
            }
        }
    }

    /** To a peer over the transport, to this node's own acceptor directly. A dropped message is re-sent by a timer. */
    private void send(int to, ResolverMessage m) {
        if (to == clusterState.selfId()) {
            receive(to, m);
        } else {
            transport.send(to, Channels.RESOLVER, m.encode());
        }
    }

    // ---- acceptor desk -----------------------------------------------------------------------------

    private void deskLoop() {
        List<Request> batch = new ArrayList<>();
        while (!stopped) {
            try {
                batch.add(deskQueue.take());
                deskQueue.drainTo(batch, 255);
                handle(batch);
            } catch (InterruptedException e) {
                return;
            } catch (SQLException | RuntimeException e) {
                // nothing was answered: the askers re-send; the coordinator's precommit counts as unanswered
                LOG.warn("node {}: acceptor could not handle {} request(s): {}", clusterState.selfId(), batch.size(), e.toString());
                close(deskConnection);
                deskConnection = null;
                pause(200);
            }
            batch.clear();
        }
    }

    /**
     * One local transaction per batch, a constant number of round trips whatever its size: every gid's state (rows
     * locked in gid order) and local copy in one read, the requests decided in order by {@link DeskBatch}, every
     * changed state in one write, the commit — and only then the answers.
     */
    private void handle(List<Request> batch) throws SQLException {
        int self = clusterState.selfId();
        if (self == 0) {
            return; // not initialised: nothing to accept
        }
        Connection c = deskConnection();
        DeskBatch.Result result = AcceptorStore.handle(c, batch, self);
        for (String violation : result.violations()) {
            LOG.error("node {}: PROTOCOL VIOLATION on {}", self, violation);
        }
        for (Request r : result.replies()) {
            send(r.from(), r.message());
        }
        for (Request r : batch) {
            if (DeskBatch.decides(r)) {
                Coordination co = coordination;
                if (co != null) {
                    co.decided(r.message().gid(), r.message().known());
                }
            }
        }
        List<Gid> finish = result.finish();
        if (!finish.isEmpty()) {
            onResolverThread(() -> finish.forEach(this::finishIfIdle));
        }
    }

    // ---- resolver thread ---------------------------------------------------------------------------

    private void tick() {
        if (clusterState.selfId() != 0) {
            apply(proposer().tick(now()));
            inDoubt = proposer().size();
        }
    }

    /** This node's prepared copies: finish the decided ones, resolve the orphaned ones. */
    private void scan() {
        int self = clusterState.selfId();
        if (self == 0 || stopped) {
            return;
        }
        try {
            if (scanConnection == null || !scanConnection.isValid(1)) {
                close(scanConnection);
                scanConnection = database.connect();
                scanConnection.setAutoCommit(true);
            }
            NodeSet voters = clusterState.currentGeneration().configured();
            NodeSet reachable = transport.reachablePeers();
            Coordination c = coordination;
            long now = now();
            try (PreparedStatement ps = scanConnection.prepareStatement(
                "SELECT p.gid, (extract(epoch FROM now() - p.prepared) * 1000)::bigint, t.status, t.proposal_ballot,"
                    + " t.proposal_node FROM pg_catalog.pg_prepared_xacts p LEFT JOIN mtm.transactions t ON t.gid = p.gid"
                    + " WHERE p.database = pg_catalog.current_database() AND p.gid LIKE 'MTM-%'");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Gid gid = Gid.tryParse(rs.getString(1));
                    if (gid == null) {
                        continue;
                    }
                    String status = rs.getString(3);
                    Outcome known = "cm".equals(status) ? Outcome.COMMITTED : "ab".equals(status) ? Outcome.ABORTED : null;
                    boolean coordinating = c != null && c.coordinating(gid);
                    long age = ages.age(gid, rs.getLong(2), now);
                    switch (InDoubtRules.action(gid, self, coordinating, known, reachable, voters, age, patienceMs)) {
                        case FINISH -> finishIfIdle(gid);
                        case RESOLVE -> {
                            if (!proposer().resolving(gid)) {
                                LOG.info("node {}: resolving in-doubt transaction {} (coordinator {} {}), prepared here {} ms",
                                    self, gid, gid.originNode(), gid.originNode() == self ? "restarted"
                                        : reachable.contains(gid.originNode()) ? "silent" : "unreachable", age);
                                Term promised = status == null ? Term.NONE : new Term(rs.getInt(4), rs.getInt(5));
                                apply(proposer().resolve(gid, voters, promised, now()));
                            }
                        }
                        case WAIT -> { }
                    }
                }
            }
            ages.endScan();
            cleanup();
        } catch (SQLException | RuntimeException e) {
            LOG.warn("node {}: resolver scan failed: {}", self, e.toString());
            close(scanConnection);
            scanConnection = null;
        }
    }

    private void apply(List<Effect> effects) {
        for (Effect e : effects) {
            if (e instanceof Send s) {
                send(s.to(), s.message());
            } else if (e instanceof Decided d) {
                LOG.info("node {}: resolver decided {}: {}", clusterState.selfId(), d.gid(), d.outcome());
                // recorded and finished through this node's own acceptor: the round sent DECIDED to every voter
                Coordination c = coordination;
                if (c != null) {
                    c.decided(d.gid(), d.outcome());
                }
            }
        }
    }

    /**
     * Finishes this node's copy of {@code gid} by its recorded outcome, unless the coordinator here is still
     * committing it (it finishes its own). Idempotent: a copy finished meanwhile is simply gone.
     */
    private void finishIfIdle(Gid gid) {
        Coordination c = coordination;
        if (c != null && c.coordinating(gid)) {
            return;
        }
        int self = clusterState.selfId();
        try {
            AcceptorState s = readState(gid);
            if (s == null || !s.decided()) {
                return;
            }
            proposer().forget(gid);
            String command = (s.outcome() == Outcome.COMMITTED ? "COMMIT PREPARED '" : "ROLLBACK PREPARED '") + gid + "'";
            Connection conn = gid.originNode() == self ? scanConnection : originConnection();
            try (Statement st = conn.createStatement()) {
                st.execute(command);
                LOG.info("node {}: {} (decided by the cluster)", self, command);
            } catch (SQLException e) {
                if ("42704".equals(e.getSQLState())) {
                    return; // finished meanwhile (its stream, or the gateway)
                }
                if (!"55000".equals(e.getSQLState())) { // busy: someone is finishing it right now; next scan looks again
                    throw e;
                }
            }
        } catch (SQLException e) {
            LOG.warn("node {}: cannot finish {} yet: {}", self, gid, e.getMessage());
            close(originConnection);
            originConnection = null;
        }
    }

    /** Forgets finished transactions: rows of copies no longer prepared here, after the retention. */
    private void cleanup() throws SQLException {
        long now = now();
        if (now - lastCleanup < 60_000) {
            return;
        }
        lastCleanup = now;
        try (Statement st = scanConnection.createStatement()) {
            st.executeUpdate("DELETE FROM mtm.transactions t WHERE t.updated_at < now() - interval '" + RETENTION + "'"
                + " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_prepared_xacts p WHERE p.gid = t.gid)");
        }
    }

    private AcceptorState readState(Gid gid) {
        try {
            if (scanConnection == null || !scanConnection.isValid(1)) {
                close(scanConnection);
                scanConnection = database.connect();
                scanConnection.setAutoCommit(true);
            }
            return AcceptorStore.lock(scanConnection, gid); // autocommit: the lock ends with the statement
        } catch (SQLException e) {
            LOG.warn("node {}: cannot read the resolver state of {}: {}", clusterState.selfId(), gid, e.getMessage());
            close(scanConnection);
            scanConnection = null;
            return null;
        }
    }

    private Proposer proposer() {
        int self = clusterState.selfId();
        if (proposer == null || proposerSelf != self) {
            proposer = new Proposer(self, retryMs, new Random());
            proposerSelf = self;
        }
        return proposer;
    }

    private void onResolverThread(Runnable r) {
        try {
            resolverThread.execute(() -> {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    LOG.warn("node {}: resolver step failed: {}", clusterState.selfId(), e.toString(), e);
                }
            });
        } catch (RejectedExecutionException stopping) {
            // deactivated: the next activation's scan takes the transaction up again
        }
    }

    /** No validity probe per batch (it would cost a round trip on the commit path): a failed batch drops it. */
    private Connection deskConnection() throws SQLException {
        if (deskConnection == null) {
            deskConnection = database.connect();
            AcceptorStore.prepareDesk(deskConnection);
        }
        return deskConnection;
    }

    /** A session under the replication origin {@value #ORIGIN}, for finishing peers' copies. */
    private Connection originConnection() throws SQLException {
        if (originConnection == null || !originConnection.isValid(1)) {
            close(originConnection);
            originConnection = database.connect();
            originConnection.setAutoCommit(true);
            try (Statement st = originConnection.createStatement()) {
                st.execute("SELECT pg_catalog.pg_replication_origin_create('" + ORIGIN + "') WHERE NOT EXISTS"
                    + " (SELECT 1 FROM pg_catalog.pg_replication_origin WHERE roname = '" + ORIGIN + "')");
                st.execute("SELECT pg_catalog.pg_replication_origin_session_setup('" + ORIGIN + "')");
            }
        }
        return originConnection;
    }

    private static long now() {
        return System.nanoTime() / 1_000_000;
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing
            }
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
