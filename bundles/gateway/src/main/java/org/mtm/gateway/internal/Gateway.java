package org.mtm.gateway.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterAdministration;
import org.mtm.api.ConsistencyCheck;
import org.mtm.api.ClusterCatalog;
import org.mtm.api.ClusterState;
import org.mtm.api.Coordinator;
import org.mtm.api.Endpoint;
import org.mtm.api.LocalDatabase;
import org.mtm.api.NodeStatus;
import org.mtm.api.SequenceAllocator;
import org.mtm.gateway.internal.commit.ClusterAdmission;
import org.mtm.gateway.internal.commit.CoordinatedCommitter;
import org.mtm.gateway.internal.commit.FootprintQueries;
import org.mtm.gateway.internal.commit.FootprintRoutines;
import org.mtm.gateway.internal.commit.JdbcDetachedStatements;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.session.GatewayServer;
import org.mtm.gateway.internal.tls.ClientCert;
import org.mtm.gateway.internal.tls.GatewayTls;
import org.mtm.gateway.internal.session.SurfaceFunctions;
import org.mtm.gateway.internal.sql.SurfaceCall;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.handler.ssl.SslProvider;

/**
 * The node's PostgreSQL wire-protocol front end: listens on {@code gateway.host:gateway.port} (PID
 * {@code org.mtm.node}; port 0 = a free port, logged) and relays each client session to its own backend
 * connection on the local PostgreSQL ({@link LocalDatabase#endpoint()}), owning the commits.
 *
 * <ul>
 * <li>{@link LocalDatabase} is mandatory and static: when the local server goes away the component is
 * deactivated — it stops accepting and ends every session (the sessions' backends are gone anyway).</li>
 * <li>{@link ClusterCatalog} (optional, dynamic): the bound endpoint is advertised as
 * {@link ClusterCatalog#GATEWAY}, retried with backoff while the database refuses.</li>
 * <li>{@link ClusterState} (optional, dynamic): until it is bound and {@link ClusterState#loaded() loaded} the
 * node refuses every query and transaction (57P03, "node is starting"), and once the cluster is initialised a
 * node that is not online does too — except for {@code application_name = 'mtm_admin'}.</li>
 * <li>{@link Coordinator} (optional, dynamic): commits of an initialised cluster go through it
 * ({@link CoordinatedCommitter}); before {@code init_cluster} (state loaded, self id 0) commits are local; an
 * initialised cluster with no coordinator, or a node whose state is unknown, refuses commits with replicated
 * changes rather than committing on one node only. Unless the state says "not initialised", autocommit
 * statements are wrapped (gateway.autocommit_wrap) and global DDL is logged for the other nodes.</li>
 * <li>{@link ClusterAdministration}, {@link SequenceAllocator} (optional, dynamic): behind the SQL calls
 * {@code mtm.init_cluster(...)} and {@code mtm.alter_sequences()} the gateway answers itself.</li>
 * </ul>
 *
 * <p>{@code break_connection} (PID {@code org.mtm.multimaster}, the manual's F.31.5.1, default false; applied live):
 * when true, the gateway looks at the node's status every {@value #STATUS_WATCH_MILLIS} ms and, when the node leaves
 * {@code online} (isolated, disabled, catchup, recovery), ends every client session but the {@code mtm_admin} ones
 * with FATAL 57P01 naming the status and the setting, so that pools reconnect to another node. A session in the
 * middle of a commit finishes it first, as on shutdown. Sessions opened while the node is not online stay and get
 * 57P03 per transaction; so do all sessions when the setting is false.
 *
 * <p>When the framework begins to shut down (system bundle STOPPING) the gateway stops at once, before the other
 * bundles, as it does on deactivation.
 *
 * <p>Deactivation (bundle stop/update, config change of the gateway keys, LocalDatabase gone): the listener
 * closes at once; every session gets FATAL 57P01 and is disconnected — a session in the middle of a commit
 * finishes it first (up to 5 s). Open transactions of disconnected sessions are rolled back by PostgreSQL;
 * prepared ones stay for the resolver. A {@code bundle:update} of the gateway therefore disconnects live
 * clients (they reconnect, as after a server restart): the backend connections belong to the old bundle's
 * sockets and cannot be handed over.
 */
@Component(name = "org.mtm.gateway", configurationPid = {"org.mtm.node", "org.mtm.multimaster"},
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        immediate = true, service = {})
public final class Gateway {
    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

    /*
     * Not designated as the metatype of org.mtm.node: the component reads two PIDs (org.mtm.node and, for
     * break_connection, org.mtm.multimaster), and a designate needs exactly one. The definition still names and
     * documents the keys; etc/org.mtm.node.cfg lists them with their defaults.
     */
    @ObjectClassDefinition(name = "mtm node: gateway",
            description = "The PostgreSQL wire-protocol front end of this node (keys gateway.* of org.mtm.node)")
    public @interface Config {
        @AttributeDefinition(description = "Address the gateway listens on for PostgreSQL clients")
        String gateway_host() default "127.0.0.1";

        @AttributeDefinition(description = "Port the gateway listens on; 0 = any free port (logged and advertised)")
        int gateway_port() default 0;

        @AttributeDefinition(description = "Address advertised to peers; empty = gateway.host (or this host's "
                + "address when gateway.host is a wildcard)")
        String gateway_advertised__host() default "";

        @AttributeDefinition(description = "Once the cluster is initialised, wrap autocommit statements that may "
                + "write in a gateway-owned transaction so that their commit goes through the cluster (DESIGN 2.1); "
                + "false: they commit on this node and reach the others asynchronously")
        boolean gateway_autocommit__wrap() default true;

        @AttributeDefinition(description = "Netty I/O threads; 0 = one per core")
        int gateway_threads() default 0;

        @AttributeDefinition(description = "PEM certificate chain of the gateway; with gateway.tls.key_file the "
                + "gateway answers SSLRequest with TLS. Empty = no TLS. Re-read when the file changes")
        String gateway_tls_cert__file() default "";

        @AttributeDefinition(description = "Unencrypted PKCS#8 PEM private key of gateway.tls.cert_file")
        String gateway_tls_key__file() default "";

        @AttributeDefinition(description = "Refuse clients that do not use TLS (FATAL 28000); needs the certificate")
        boolean gateway_tls_required() default false;

        @AttributeDefinition(description = "PEM certificate of the CA whose client certificates the gateway accepts; "
                + "empty = none asked for. Re-read when the file changes")
        String gateway_tls_client__ca__file() default "";

        @AttributeDefinition(description = "none | verify-ca (a client certificate of gateway.tls.client_ca_file is "
                + "required) | verify-full (and its CN must be the user name), as PostgreSQL's clientcert; FATAL 28000 "
                + "otherwise. PostgreSQL's own authentication still follows")
        String gateway_tls_clientcert() default "none";

        @AttributeDefinition(description = "PEM or DER certificate revocation list of gateway.tls.client_ca_file: a "
                + "revoked client certificate counts as none (FATAL 28000 with verify-ca/verify-full); empty = no list. "
                + "Re-read when the file changes")
        String gateway_tls_crl__file() default "";

        @AttributeDefinition(description = "Client connections the gateway accepts at most (more get FATAL 53300); "
                + "0 = no limit of the gateway's own (PostgreSQL's max_connections still applies)")
        int gateway_max__connections() default 1000;

        @AttributeDefinition(description = "Milliseconds a client has to send its startup packet after connecting "
                + "(FATAL 08P01 and closed after that); 0 = no bound")
        long gateway_startup__timeout__ms() default 60000;

        @AttributeDefinition(description = "Longest client message (bytes) the gateway holds whole before passing it on "
                + "(FATAL 54000 above it); COPY data and long Bind messages stream and are not bounded. 1024 to "
                + "1073741823 (PostgreSQL's own bound, the default)")
        int gateway_max__message__bytes() default 0x3fffffff;
    }

    /**
     * The key of PID {@code org.mtm.multimaster} the gateway reads itself (the consensus bundle describes that PID's
     * metatype).
     */
    public @interface Multimaster {
        /** The manual's break_connection: end client sessions when the node leaves online. */
        boolean break__connection() default false;
    }

    /** How often the node's status is looked at for break_connection. */
    static final long STATUS_WATCH_MILLIS = 200;
    private static final long FOOTPRINT_RETRY_SECONDS = 10;

    private record Settings(String host, int port, String advertisedHost, boolean wrap, int threads, int maxConnections,
            long startupTimeoutMs, int maxMessageBytes) {
        static Settings of(Config c) {
            return new Settings(c.gateway_host().trim(), c.gateway_port(), c.gateway_advertised__host().trim(),
                    c.gateway_autocommit__wrap(), c.gateway_threads(), c.gateway_max__connections(),
                    c.gateway_startup__timeout__ms(), c.gateway_max__message__bytes());
        }
    }

    private final LocalDatabase database;
    private final ScheduledThreadPoolExecutor background;
    /** Blocking JDBC work off the event loops: finishing prepared transactions of lost sessions. */
    private final ThreadPoolExecutor detachedPool;
    private Settings settings;
    private GatewayTls.Settings tlsSettings;
    private GatewayTls tls;
    /** Written under the component's lock; read without it by the status watch. */
    private volatile GatewayServer server;
    /** The footprint's statements of every session: calls of the node's functions once they are made. */
    private final FootprintQueries footprintQueries = new FootprintQueries();
    /** mtm.gateway.sessions: client sessions open now. */
    private final org.mtm.api.metrics.BundleMetrics metrics = new org.mtm.api.metrics.BundleMetrics();
    private Endpoint advertised;
    private ScheduledFuture<?> advertisement;
    private final AutoCloseable frameworkStopping;
    /** The framework is shutting down: the gateway stopped first and does not start again. */
    private boolean shuttingDown;
    private volatile boolean breakConnection;
    private final LeavingOnline leavingOnline = new LeavingOnline();

    private volatile ClusterState clusterState;
    private volatile Coordinator coordinator;
    /** Told to leave once the gateway has drained on shutdown (see {@link #frameworkStopping()}). */
    private volatile org.mtm.api.Transport transport;
    private volatile ClusterCatalog catalog;
    private volatile ClusterAdministration administration;
    private volatile SequenceAllocator sequences;
    private volatile ConsistencyCheck consistency;

    /** Outside a framework (tests): no shutdown signal, break_connection false. */
    Gateway(LocalDatabase database, Config config) throws InterruptedException {
        this(database, config, null, null);
    }

    /** Outside a framework (tests): no shutdown signal. */
    Gateway(LocalDatabase database, Config config, Multimaster multimaster) throws InterruptedException {
        this(database, config, multimaster, null);
    }

    @Activate
    public Gateway(@Reference LocalDatabase database, Config config, Multimaster multimaster, BundleContext context)
            throws InterruptedException {
        this.database = database;
        this.breakConnection = multimaster != null && multimaster.break__connection();
        // two threads: an advertisement waiting on the database does not hold up the status watch
        this.background = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "mtm-gateway-background");
            t.setDaemon(true);
            return t;
        });
        background.setRemoveOnCancelPolicy(true);
        this.detachedPool = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "mtm-gateway-detached");
            t.setDaemon(true);
            return t;
        });
        detachedPool.allowCoreThreadTimeOut(true);
        this.settings = Settings.of(config);
        this.tlsSettings = tlsSettings(config);
        this.tls = tls(tlsSettings);
        synchronized (this) {
            startServer();
        }
        this.frameworkStopping = FrameworkStopping.listen(context, this::frameworkStopping);
        background.scheduleWithFixedDelay(this::watchStatus, STATUS_WATCH_MILLIS, STATUS_WATCH_MILLIS, TimeUnit.MILLISECONDS);
        background.execute(this::installFootprintRoutines);
        metrics.registry().gauge("mtm.gateway.sessions", () -> () -> {
            GatewayServer s = server;
            return s == null ? 0 : s.sessionCount();
        });
        // 1: the gateway's TLS runs on OpenSSL (netty-tcnative), 0: on the JDK's SSLEngine or TLS is off
        metrics.registry().gauge("mtm.gateway.tls_openssl", () -> () -> {
            GatewayServer s = server;
            GatewayTls t = s == null ? null : s.tls();
            return t != null && t.provider() == SslProvider.OPENSSL ? 1 : 0;
        });
    }

    /** The footprint's statements of every session (tests). */
    FootprintQueries footprintQueries() {
        return footprintQueries;
    }

    /**
     * Makes the footprint's functions on the local server ({@link FootprintRoutines}) and switches the sessions to
     * them; until then, and should it fail, they send the statements as text. Tried again every
     * {@link #FOOTPRINT_RETRY_SECONDS} while the node's catalog (schema mtm) is not there yet or the server is away.
     */
    private void installFootprintRoutines() {
        try (java.sql.Connection c = database.connect()) {
            if (FootprintRoutines.install(c)) {
                footprintQueries.routinesInstalled();
                LOG.debug("footprint functions ready on the local server");
                return;
            }
            LOG.debug("footprint functions not made yet: schema mtm is not installed on the local server");
        } catch (java.sql.SQLException | RuntimeException e) {
            LOG.info("footprint functions not made on the local server ({}); commits send the footprint query as text, "
                    + "trying again in {} s", e.getMessage(), FOOTPRINT_RETRY_SECONDS);
        }
        if (!background.isShutdown()) {
            background.schedule(this::installFootprintRoutines, FOOTPRINT_RETRY_SECONDS, TimeUnit.SECONDS);
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.attach(shared);
    }

    void unbindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.detach(shared);
    }

    /**
     * The framework begins to shut down: the gateway stops before transport and consensus do, so that clients
     * get 57P01 at once instead of 57P03 "isolated" first, and commits under way finish with the coordinator
     * still running. Then the node tells its peers it leaves: they form a generation without it at once, instead of
     * waiting for its silence — which began only when the rest of the node had stopped (receivers can take seconds),
     * while their writes waited for its votes (the fault battery's graceful stops: writes stood 6.5-7.4 s).
     */
    synchronized void frameworkStopping() {
        if (shuttingDown) {
            return;
        }
        shuttingDown = true;
        LOG.info("framework is shutting down: the gateway stops first");
        stopServer();
        org.mtm.api.Transport t = transport;
        if (t != null) {
            t.leave();
        }
    }

    @Modified
    synchronized void modified(Config config, Multimaster multimaster) throws InterruptedException {
        boolean breaking = multimaster != null && multimaster.break__connection();
        if (breaking != breakConnection) {
            LOG.info("break_connection = {}: client sessions are {} when this node leaves online", breaking,
                    breaking ? "ended" : "kept (they get 57P03)");
            breakConnection = breaking;
        }
        GatewayTls.Settings nextTls = tlsSettings(config);
        if (!nextTls.equals(tlsSettings)) {
            try {
                tls = tls(nextTls);
                tlsSettings = nextTls;
                GatewayServer s = server;
                if (s != null) {
                    s.tls(tls);
                }
                LOG.info("gateway TLS settings changed: {}; new connections use them, open sessions go on", nextTls);
            } catch (IllegalArgumentException e) {
                LOG.error("gateway TLS settings not changed: {}", e.getMessage());
            }
        }
        Settings next = Settings.of(config);
        if (next.equals(settings) || shuttingDown) {
            return;
        }
        LOG.info("gateway settings changed ({} -> {}); restarting the gateway, open sessions are disconnected",
                settings, next);
        settings = next;
        stopServer();
        startServer();
    }

    @Deactivate
    synchronized void deactivate() {
        try {
            frameworkStopping.close();
        } catch (Exception e) {
            LOG.debug("removing the framework listener: {}", e.toString());
        }
        stopServer();
        background.shutdownNow();
        detachedPool.shutdown();
        metrics.close();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindTransport")
    void bindTransport(org.mtm.api.Transport t) {
        transport = t;
    }

    void unbindTransport(org.mtm.api.Transport t) {
        if (transport == t) {
            transport = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindClusterState")
    void bindClusterState(ClusterState s) {
        clusterState = s;
    }

    void unbindClusterState(ClusterState s) {
        if (clusterState == s) {
            clusterState = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindCoordinator")
    void bindCoordinator(Coordinator c) {
        coordinator = c;
    }

    void unbindCoordinator(Coordinator c) {
        if (coordinator == c) {
            coordinator = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindAdministration")
    void bindAdministration(ClusterAdministration a) {
        administration = a;
    }

    void unbindAdministration(ClusterAdministration a) {
        if (administration == a) {
            administration = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindConsistency")
    void bindConsistency(ConsistencyCheck c) {
        consistency = c;
    }

    void unbindConsistency(ConsistencyCheck c) {
        if (consistency == c) {
            consistency = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindSequences")
    void bindSequences(SequenceAllocator a) {
        sequences = a;
    }

    void unbindSequences(SequenceAllocator a) {
        if (sequences == a) {
            sequences = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindCatalog")
    synchronized void bindCatalog(ClusterCatalog c) {
        catalog = c;
        scheduleAdvertisement(0);
    }

    synchronized void unbindCatalog(ClusterCatalog c) {
        if (catalog == c) {
            catalog = null;
            cancelAdvertisement();
        }
    }

    /** See {@link LoopbackTrust}: not listening beyond the loopback in front of a server that trusts the loopback. */
    private void refuseOpenDoor() {
        if (LoopbackTrust.loopbackOnly(settings.host())) {
            return;
        }
        boolean trusted;
        try {
            trusted = LoopbackTrust.trusts(database.endpoint(), database.userName(), database.databaseName());
        } catch (IOException e) {
            LOG.warn("gateway on {}: cannot ask PostgreSQL at {} whether it lets loopback connections in without a "
                    + "password ({}); make sure it does not", settings.host(), database.endpoint(), e.toString());
            return;
        }
        if (trusted) {
            String why = "gateway not started: gateway.host = " + settings.host() + " is not a loopback address, but "
                    + "PostgreSQL at " + database.endpoint() + " lets loopback connections in without a password (trust), "
                    + "so every client of the gateway would get in as any user, superuser included. Make that server "
                    + "ask for a password (pg_hba.conf: scram-sha-256; a managed server always does), or keep "
                    + "gateway.host on the loopback";
            LOG.error(why);
            throw new IllegalStateException(why);
        }
    }

    private static GatewayTls.Settings tlsSettings(Config c) {
        return new GatewayTls.Settings(c.gateway_tls_cert__file(), c.gateway_tls_key__file(), c.gateway_tls_required(),
                c.gateway_tls_client__ca__file(), c.gateway_tls_clientcert(), c.gateway_tls_crl__file());
    }

    private static GatewayTls tls(GatewayTls.Settings s) {
        try {
            return GatewayTls.of(s);
        } catch (IllegalArgumentException e) {
            LOG.error("gateway not started: {}", e.getMessage());
            throw e;
        }
    }

    private void startServer() throws InterruptedException {
        refuseOpenDoor();
        GatewayServer s = new GatewayServer(new GatewayServer.Settings(settings.host(), settings.port(),
                database::endpoint, settings.wrap(), settings.threads()))
                .tls(tls)
                .limits(settings.maxConnections(), settings.startupTimeoutMs(), settings.maxMessageBytes())
                .admission(new ClusterAdmission(() -> clusterState))
                .clusterInitialised(this::clusterInitialised)
                .surface(new ServiceFunctions())
                .footprintQueries(footprintQueries)
                .committer(new CoordinatedCommitter(this::standing, () -> coordinator))
                .detached(new JdbcDetachedStatements(database::connect, detachedPool));
        Endpoint bound;
        try {
            bound = s.start();
        } catch (RuntimeException e) {
            LOG.error("gateway could not listen on {}:{} ({}); set gateway.host/gateway.port in etc/org.mtm.node.cfg "
                    + "to a free address of this host", settings.host(), settings.port(), e.toString());
            throw e;
        }
        server = s;
        advertised = new Endpoint(advertisedHost(), bound.port());
        LOG.info("gateway listening on {} for PostgreSQL at {} (advertised as {}, autocommit wrapping {}, TLS {})", bound,
                database.endpoint(), advertised, settings.wrap() ? "on once the cluster is initialised" : "off",
                tls == null ? "off" : (tls.required() ? "required" : "offered") + " with " + tls.certFile()
                        + (tls.clientCert() == ClientCert.NONE ? "" : ", client certificates " + tls.clientCert().key())
                        + " on " + tls.provider());
        scheduleAdvertisement(0);
    }

    /**
     * One look at the node's status (every {@value #STATUS_WATCH_MILLIS} ms): with break_connection, a node that
     * has just left online ends its client sessions but the mtm_admin ones.
     */
    void watchStatus() {
        try {
            ClusterState state = clusterState;
            NodeStatus left = leavingOnline.look(state);
            GatewayServer s = server;
            if (left == null || !breakConnection || s == null) {
                return;
            }
            LOG.info("node {} left online (status {}), break_connection = true: ending its client sessions but mtm_admin "
                    + "ones ({} session(s) open)", state.selfId(), left.sqlName(), s.sessionCount());
            s.terminateSessions(session -> !session.isAdmin(), LeavingOnline.breakConnection(state.selfId(), left));
        } catch (RuntimeException e) {
            // a failed look must not end the watch (a periodic task that throws is never run again)
            LOG.warn("looking at the node's status for break_connection failed: {}", e.toString());
        }
    }

    /** What the status watch saw last (tests). */
    NodeStatus statusSeen() {
        return leavingOnline.seen();
    }

    /** Open client sessions (tests). */
    int sessionCount() {
        GatewayServer s = server;
        return s == null ? 0 : s.sessionCount();
    }

    /** Where the gateway listens now (null while stopped). */
    synchronized Endpoint endpoint() {
        return server == null ? null : server.endpoint();
    }

    private void stopServer() {
        cancelAdvertisement();
        GatewayServer s = server;
        server = null;
        if (s != null) {
            int open = s.sessionCount();
            s.close(Duration.ofSeconds(5));
            LOG.info("gateway on {} stopped; {} session(s) disconnected", s.endpoint(), open);
        }
    }

    private String advertisedHost() {
        if (!settings.advertisedHost().isEmpty()) {
            return settings.advertisedHost();
        }
        String host = settings.host();
        if (host.equals("0.0.0.0") || host.equals("::") || host.equals("*")) {
            try {
                return InetAddress.getLocalHost().getHostAddress();
            } catch (UnknownHostException e) {
                LOG.warn("cannot find this host's address to advertise ({}); set gateway.advertised_host", e.toString());
            }
        }
        return host;
    }

    // ------------------------------------------------------------------ advertisement with retry

    private void scheduleAdvertisement(long delayMillis) {
        cancelAdvertisement();
        if (catalog == null || advertised == null || background.isShutdown()) {
            return;
        }
        long nextDelay = Math.min(30_000, Math.max(500, delayMillis * 2));
        advertisement = background.schedule(() -> advertise(nextDelay), delayMillis, TimeUnit.MILLISECONDS);
    }

    private void advertise(long retryDelayMillis) {
        ClusterCatalog c;
        Endpoint e;
        synchronized (this) {
            c = catalog;
            e = advertised;
        }
        if (c == null || e == null) {
            return;
        }
        try {
            c.advertise(ClusterCatalog.GATEWAY, e);
            LOG.info("gateway endpoint {} advertised in the cluster catalog", e);
        } catch (SQLException | RuntimeException ex) {
            LOG.warn("could not advertise the gateway endpoint {} ({}); retrying in {} ms", e, ex.toString(), retryDelayMillis);
            synchronized (this) {
                if (catalog == c && advertised == e) {
                    scheduleAdvertisement(retryDelayMillis);
                }
            }
        }
    }

    private void cancelAdvertisement() {
        if (advertisement != null) {
            advertisement.cancel(false);
            advertisement = null;
        }
    }

    /**
     * Not initialised only when the loaded state says so (self id 0): while the state is unknown (no ClusterState,
     * or not loaded) the node acts as initialised — wrapping, DDL messages, refusals — so that nothing it admits
     * (mtm_admin sessions) can slip past the cluster. Asked per query: a volatile read and two calls.
     */
    private boolean clusterInitialised() {
        ClusterState state = clusterState;
        return state == null || !state.loaded() || state.selfId() != 0;
    }

    /** Where the node stands for commits ({@link CoordinatedCommitter}), from the cluster state service. */
    private CoordinatedCommitter.Standing standing() {
        ClusterState state = clusterState;
        if (state == null) {
            return CoordinatedCommitter.Standing.NO_CLUSTER_STATE;
        }
        if (!state.loaded()) {
            return CoordinatedCommitter.Standing.STARTING;
        }
        return state.selfId() == 0 ? CoordinatedCommitter.Standing.NOT_INITIALISED : CoordinatedCommitter.Standing.MEMBER;
    }

    /**
     * mtm.init_cluster and mtm.alter_sequences through the api services of this node, run off the event loops
     * (they block: init_cluster connects to every node).
     */
    private final class ServiceFunctions implements SurfaceFunctions {
        @Override
        public CompletionStage<Void> initCluster(String myConninfo, List<String> peerConninfos) {
            ClusterAdministration admin = administration;
            if (admin == null) {
                return CompletableFuture.failedFuture(SurfaceFunctions.unavailable("mtm.init_cluster", "admin"));
            }
            return CompletableFuture.runAsync(() -> {
                try {
                    admin.initCluster(myConninfo, peerConninfos);
                } catch (ClusterAdminException e) {
                    String state = e.sqlState() == null || e.sqlState().length() != 5 ? SqlStates.INTERNAL_ERROR : e.sqlState();
                    throw new CompletionException(new SurfaceCall.CallException(state, e.getMessage()));
                }
            }, detachedPool);
        }

        @Override
        public CompletionStage<Integer> alterSequences() {
            SequenceAllocator allocator = sequences;
            if (allocator == null) {
                return CompletableFuture.failedFuture(SurfaceFunctions.unavailable("mtm.alter_sequences", "sequence"));
            }
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return allocator.alterSequences();
                } catch (SQLException e) {
                    String state = e.getSQLState() == null || e.getSQLState().length() != 5 ? SqlStates.INTERNAL_ERROR
                            : e.getSQLState();
                    throw new CompletionException(new SurfaceCall.CallException(state,
                            "[multimaster] mtm.alter_sequences failed: " + e.getMessage()));
                }
            }, detachedPool);
        }

        @Override
        public CompletionStage<CheckAnswer> checkQuery(String query, String role, java.util.function.Consumer<String> progress) {
            ConsistencyCheck check = consistency;
            if (check == null) {
                return CompletableFuture.failedFuture(SurfaceFunctions.unavailable("mtm.check_query", "admin"));
            }
            return CompletableFuture.supplyAsync(() -> {
                try {
                    ConsistencyCheck.Comparison c = check.checkQuery(query, role.isEmpty() ? null : role, progress);
                    return new CheckAnswer(c.same(), c.same() ? null
                            : c.firstDifference() + " (nodes that differ: " + c.differing() + ")");
                } catch (ClusterAdminException e) {
                    throw new CompletionException(callException(e));
                }
            }, detachedPool);
        }

        @Override
        public CompletionStage<String> getSnapshots(Object owner) {
            ConsistencyCheck check = consistency;
            if (check == null) {
                return CompletableFuture.failedFuture(SurfaceFunctions.unavailable("mtm.get_snapshots", "admin"));
            }
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return check.getSnapshots(owner).entrySet().stream().map(e -> e.getKey() + ":" + e.getValue())
                            .collect(java.util.stream.Collectors.joining(","));
                } catch (ClusterAdminException e) {
                    throw new CompletionException(callException(e));
                }
            }, detachedPool);
        }

        @Override
        public CompletionStage<Void> freeSnapshots(Object owner) {
            ConsistencyCheck check = consistency;
            return check == null ? CompletableFuture.completedFuture(null)
                    : CompletableFuture.runAsync(() -> check.freeSnapshots(owner), detachedPool);
        }

        @Override
        public CompletionStage<Void> dropNode(int node) {
            ClusterState state = clusterState;
            if (state == null) {
                return CompletableFuture.failedFuture(SurfaceFunctions.unavailable("mtm.drop_node", "consensus"));
            }
            return CompletableFuture.runAsync(() -> {
                try {
                    state.dropNode(node);
                } catch (ClusterAdminException e) {
                    throw new CompletionException(new SurfaceCall.CallException(
                            callException(e).sqlState(), "[multimaster] " + e.getMessage()));
                }
            }, detachedPool);
        }

        @Override
        public CompletionStage<Integer> addNode(String conninfo) {
            ClusterAdministration admin = administration;
            if (admin == null) {
                return CompletableFuture.failedFuture(SurfaceFunctions.unavailable("mtm.add_node", "admin"));
            }
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return admin.addNode(conninfo);
                } catch (ClusterAdminException e) {
                    throw new CompletionException(new SurfaceCall.CallException(
                            callException(e).sqlState(), "[multimaster] " + e.getMessage()));
                }
            }, detachedPool);
        }

        @Override
        public CompletionStage<Void> joinNode(int node, String backupEndLsn) {
            ClusterAdministration admin = administration;
            if (admin == null) {
                return CompletableFuture.failedFuture(SurfaceFunctions.unavailable("mtm.join_node", "admin"));
            }
            return CompletableFuture.runAsync(() -> {
                try {
                    admin.joinNode(node, backupEndLsn);
                } catch (ClusterAdminException e) {
                    throw new CompletionException(new SurfaceCall.CallException(
                            callException(e).sqlState(), "[multimaster] " + e.getMessage()));
                }
            }, detachedPool);
        }

        @Override
        public CompletionStage<Boolean> ping() {
            ClusterAdministration admin = administration;
            if (admin == null) {
                return CompletableFuture.failedFuture(SurfaceFunctions.unavailable("mtm.ping", "admin"));
            }
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return admin.ping();
                } catch (ClusterAdminException e) {
                    throw new CompletionException(new SurfaceCall.CallException(
                            callException(e).sqlState(), "[multimaster] " + e.getMessage()));
                }
            }, detachedPool);
        }

        private static SurfaceCall.CallException callException(ClusterAdminException e) {
            String state = e.sqlState() == null || e.sqlState().length() != 5 ? SqlStates.INTERNAL_ERROR : e.sqlState();
            return new SurfaceCall.CallException(state, e.getMessage());
        }
    }
}
