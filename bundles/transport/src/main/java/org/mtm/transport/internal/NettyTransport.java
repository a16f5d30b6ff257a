package org.mtm.transport.internal;

import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicLong;
import org.mtm.api.ClusterCatalog;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterConfigListener;
import org.mtm.api.ClusterNode;
import org.mtm.api.Endpoint;
import org.mtm.api.HeartbeatSource;
import org.mtm.api.NodeSet;
import org.mtm.api.PeerConnectivityListener;
import org.mtm.api.PeerMessageHandler;
import org.mtm.api.Transport;
import org.osgi.annotation.bundle.Capability;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's {@link Transport}: a {@link PeerNetwork} configured from PIDs {@code org.mtm.node}
 * (listen address, cluster secret) and {@code org.mtm.multimaster} (heartbeat timings, live), with the
 * peers' endpoints from the stored cluster configuration. Whiteboard services receive what arrives:
 * {@link PeerMessageHandler}s by their {@value PeerMessageHandler#CHANNEL_PROPERTY} property and
 * {@link PeerConnectivityListener}s, both called on a transport I/O thread (hand long work to an
 * executor). A newly bound listener is told the currently reachable peers at once (possibly twice).
 * Immediate: the listener must run (and be advertised) before anyone uses the service, so that
 * {@code init_cluster} on another node can find it.
 * <p>Its services are registered by hand, without the component's properties: DS would otherwise publish
 * every key of {@code org.mtm.node} — the cluster secret and the database password included — as service
 * properties, visible to {@code service:list} and JMX.
 */
@Component(service = {}, immediate = true, configurationPid = {"org.mtm.multimaster", "org.mtm.node"})
@Capability(namespace = "osgi.service", attribute = "objectClass:List<String>=\"org.mtm.api.Transport\"",
    uses = Transport.class)
public final class NettyTransport implements Transport, ClusterConfigListener {
    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);
    private static final PeerMessageHandler[] NO_HANDLERS = {};

    private final ClusterCatalog catalog;
    private final ScheduledThreadPoolExecutor background;
    private final Map<PeerMessageHandler, Integer> handlerChannels = new IdentityHashMap<>();
    private volatile Map<Integer, PeerMessageHandler[]> handlers = Map.of();
    private final List<PeerConnectivityListener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong configVersion = new AtomicLong();
    private final Events events = new Events();
    private final ServiceRegistration<?> registration;
    private final TransportCounters counters = new TransportCounters();
    private final org.mtm.api.metrics.BundleMetrics metrics = new org.mtm.api.metrics.BundleMetrics();

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile HeartbeatSource heartbeatSource;

    private volatile Optional<ClusterConfig> clusterConfig = Optional.empty();
    private volatile PeerNetwork network;
    private TransportTimings timings;
    private NodeSettings node;
    private RetryingTask advertisement;

    /** The {@code org.mtm.node} keys this component uses. */
    private record NodeSettings(String host, int port, String secret, PeerAddresses peerAddresses,
                                TransportTls.Settings tls) {
        static NodeSettings of(NodeConfig c, Map<String, Object> properties) {
            return new NodeSettings(c.transport_host().trim(), c.transport_port(), c.cluster_secret(), peerAddresses(properties),
                new TransportTls.Settings(c.transport_tls_ca__file(), c.transport_tls_cert__file(), c.transport_tls_key__file(),
                    c.transport_tls_crl__file()));
        }

        private static PeerAddresses peerAddresses(Map<String, Object> properties) {
            try {
                return PeerAddresses.of(properties);
            } catch (IllegalArgumentException e) {
                LOG.error("ignoring every {}* key of etc/org.mtm.node.cfg: {}", PeerAddresses.PREFIX, e.getMessage());
                return PeerAddresses.NONE;
            }
        }

        @Override
        public String toString() {
            return "NodeSettings[" + host + ":" + port + ", peer addresses " + peerAddresses.overrides() + ", " + tls
                + ", secret hidden]";
        }
    }

    /**
     * Tells the connectivity listeners, one event at a time in the network's order. Not on the network's own thread,
     * an I/O thread that also sends the heartbeats: a listener that waits (a receiver cancelling its apply opens a
     * connection to PostgreSQL) would stop this node's heartbeats, and its peers would drop it as silent.
     */
    private final java.util.concurrent.ExecutorService connectivityEvents = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "mtm-transport-connectivity");
        t.setDaemon(true);
        return t;
    });

    @Activate
    public NettyTransport(@Reference ClusterCatalog catalog, TimingConfig timing, NodeConfig nodeConfig,
                          Map<String, Object> properties, BundleContext context) {
        this.catalog = catalog;
        this.background = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "mtm-transport-catalog");
            t.setDaemon(true);
            return t;
        });
        background.setRemoveOnCancelPolicy(true);
        this.timings = timingsOrDefault(timing, TransportTimings.DEFAULTS);
        this.node = NodeSettings.of(nodeConfig, properties);
        synchronized (this) {
            startNetwork();
        }
        primeClusterConfig();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Constants.SERVICE_DESCRIPTION, "mtm node-to-node transport");
        registration = context.registerService(new String[] {Transport.class.getName(), ClusterConfigListener.class.getName()},
            this, props);
        metrics.registry().gauge("mtm.transport.bytes_sent", () -> counters::bytesSent);
        metrics.registry().gauge("mtm.transport.bytes_received", () -> counters::bytesReceived);
        metrics.registry().gauge("mtm.transport.reconnects", () -> counters::reconnects);
        // 1: the peer connections' TLS runs on OpenSSL (netty-tcnative), 0: on the JDK's SSLEngine or TLS is off
        metrics.registry().gauge("mtm.transport.tls_openssl", () -> () -> {
            PeerNetwork n = network;
            TransportTls t = n == null ? null : n.tls();
            return t != null && t.provider() == SslProvider.OPENSSL ? 1 : 0;
        });
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void bindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.attach(shared);
    }

    void unbindMetricRegistry(com.codahale.metrics.MetricRegistry shared) {
        metrics.detach(shared);
    }

    @Modified
    synchronized void modified(TimingConfig timing, NodeConfig nodeConfig, Map<String, Object> properties) {
        TransportTimings newTimings = timingsOrDefault(timing, timings);
        if (!newTimings.equals(timings)) {
            timings = newTimings;
            LOG.info("transport timings changed: {}", newTimings);
            PeerNetwork n = network;
            if (n != null) {
                n.setTimings(newTimings);
            }
        }
        NodeSettings newNode = NodeSettings.of(nodeConfig, properties);
        if (!newNode.equals(node)) {
            LOG.info("transport address, peer addresses, TLS files or cluster secret changed; restarting the transport");
            node = newNode;
            stopNetwork();
            startNetwork();
        }
    }

    @Deactivate
    synchronized void deactivate() {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // the framework unregisters a stopping bundle's services itself
        }
        stopNetwork();
        metrics.close();
        background.shutdownNow();
        connectivityEvents.shutdown(); // what was reported is still told: the last word stays "unreachable"
    }

    private static TransportTimings timingsOrDefault(TimingConfig c, TransportTimings fallback) {
        try {
            return TransportTimings.fromManual(c.heartbeat__send__timeout(), c.heartbeat__recv__timeout(), c.connect__timeout());
        } catch (IllegalArgumentException e) {
            LOG.error("invalid timings in etc/org.mtm.multimaster.cfg: {}; using {}", e.getMessage(), fallback);
            return fallback;
        }
    }

    private void startNetwork() {
        if (node.secret().isEmpty()) {
            LOG.error("node transport not started: cluster.secret is empty. Set cluster.secret in etc/org.mtm.node.cfg "
                + "to the same secret on every node of the cluster; peers prove they know it before they are heard");
            return;
        }
        TransportTls tls;
        try {
            tls = TransportTls.of(node.tls());
        } catch (IllegalArgumentException e) {
            LOG.error("node transport not started: {}", e.getMessage());
            return;
        }
        PeerNetwork n = new PeerNetwork(node.secret(), tls, timings, events, counters);
        Endpoint bound;
        try {
            bound = n.listen(node.host(), listenPort());
        } catch (IOException e) {
            LOG.error("node transport not started: {}. Set transport.host/transport.port in etc/org.mtm.node.cfg to an "
                + "address of this machine with a free port", e.getMessage());
            n.close();
            return;
        }
        network = n;
        LOG.info("node transport listening for peers on {} ({})", bound, tls == null
            ? "plain TCP: set transport.tls.ca_file, cert_file and key_file for mutual TLS"
            : "mutual TLS on " + tls.provider() + ", peers' certificates signed by " + node.tls().caFile());
        applyClusterConfig(n, clusterConfig, node.peerAddresses());
        Endpoint advertised = advertisedEndpoint(bound);
        advertisement = new RetryingTask(background, "advertise transport endpoint " + advertised + " in the local database",
            () -> catalog.advertise(ClusterCatalog.TRANSPORT, advertised), 200, 30_000).start();
    }

    /**
     * With {@code transport.port=0} a node listens again on the port its peers stored at init_cluster
     * (they know no other); only a node not yet in a cluster takes any free port.
     */
    private int listenPort() {
        if (node.port() != 0) {
            return node.port();
        }
        int stored = catalog.clusterConfig().map(c -> c.self().transport().port()).orElse(0);
        if (stored != 0 && !PortProbe.isFree(node.host(), stored)) {
            LOG.warn("transport port {} stored at init_cluster is taken; listening on a free port, which peers will not"
                + " know. Set transport.port in etc/org.mtm.node.cfg to a fixed port", stored);
            return 0;
        }
        return stored;
    }

    private void stopNetwork() {
        if (advertisement != null) {
            advertisement.cancel();
            advertisement = null;
        }
        PeerNetwork n = network;
        network = null;
        if (n != null) {
            n.close();
        }
    }

    /** Peers cannot connect to a wildcard address: advertise this machine's name instead. */
    private static Endpoint advertisedEndpoint(Endpoint bound) {
        String h = bound.host();
        if (!h.equals("0.0.0.0") && !h.equals("::") && !h.equals("[::]")) {
            return bound;
        }
        try {
            String name = InetAddress.getLocalHost().getCanonicalHostName();
            LOG.warn("transport.host {} is a wildcard; advertising {} to peers. Set transport.host in "
                + "etc/org.mtm.node.cfg to the address peers should use", h, name);
            return new Endpoint(name, bound.port());
        } catch (UnknownHostException e) {
            LOG.warn("transport.host {} is a wildcard and this host has no resolvable name; peers will not reach it. "
                + "Set transport.host in etc/org.mtm.node.cfg", h);
            return bound;
        }
    }

    /** The catalog tells us of changes; this reads the current state once in case we were bound late. */
    private void primeClusterConfig() {
        long version = configVersion.get();
        new RetryingTask(background, "read the stored cluster configuration", () -> {
            if (configVersion.get() != version) {
                return; // the catalog told us already
            }
            Optional<ClusterConfig> c = catalog.clusterConfig();
            if (configVersion.compareAndSet(version, version + 1)) {
                useClusterConfig(c);
            }
        }, 200, 30_000).start();
    }

    @Override
    public void clusterConfigChanged(Optional<ClusterConfig> config) {
        configVersion.incrementAndGet();
        useClusterConfig(config);
    }

    private synchronized void useClusterConfig(Optional<ClusterConfig> config) {
        clusterConfig = config;
        PeerNetwork n = network;
        if (n != null) {
            applyClusterConfig(n, config, node.peerAddresses());
        }
    }

    private static void applyClusterConfig(PeerNetwork n, Optional<ClusterConfig> config, PeerAddresses peerAddresses) {
        if (config.isEmpty()) {
            n.configure(0, Map.of());
            return;
        }
        Map<Integer, Endpoint> peers = new HashMap<>();
        for (ClusterNode peer : config.get().peers()) {
            peers.put(peer.id(), peer.transport());
        }
        n.configure(config.get().selfId(), peerAddresses.applyTo(peers));
    }

    // ---- Transport ---------------------------------------------------------------------------------

    @Override
    public NodeSet reachablePeers() {
        PeerNetwork n = network;
        return n == null ? NodeSet.EMPTY : n.reachablePeers();
    }

    @Override
    public boolean settled() {
        PeerNetwork n = network;
        return n != null && n.settled();
    }

    @Override
    public NodeSet linkedPeers() {
        PeerNetwork n = network;
        return n == null ? NodeSet.EMPTY : n.linkedPeers();
    }

    @Override
    public boolean send(int peer, int channel, byte[] payload) {
        PeerNetwork n = network;
        return n != null && n.send(peer, channel, payload);
    }

    @Override
    public void leave() {
        PeerNetwork n = network;
        if (n != null) {
            n.leave();
        }
    }

    @Override
    public NodeSet broadcast(int channel, byte[] payload) {
        PeerNetwork n = network;
        return n == null ? NodeSet.EMPTY : n.broadcast(channel, payload);
    }

    // ---- whiteboard ---------------------------------------------------------------------------------

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
        unbind = "removeMessageHandler", updated = "updatedMessageHandler")
    synchronized void addMessageHandler(PeerMessageHandler handler, Map<String, Object> properties) {
        Integer channel = channelOf(properties);
        if (channel == null) {
            LOG.warn("peer message handler {} has no valid service property {}; it receives nothing", handler,
                PeerMessageHandler.CHANNEL_PROPERTY);
            return;
        }
        handlerChannels.put(handler, channel);
        rebuildHandlers();
    }

    synchronized void updatedMessageHandler(PeerMessageHandler handler, Map<String, Object> properties) {
        handlerChannels.remove(handler);
        addMessageHandler(handler, properties);
    }

    synchronized void removeMessageHandler(PeerMessageHandler handler) {
        if (handlerChannels.remove(handler) != null) {
            rebuildHandlers();
        }
    }

    private void rebuildHandlers() {
        Map<Integer, List<PeerMessageHandler>> byChannel = new HashMap<>();
        handlerChannels.forEach((h, c) -> byChannel.computeIfAbsent(c, k -> new CopyOnWriteArrayList<>()).add(h));
        Map<Integer, PeerMessageHandler[]> snapshot = new HashMap<>();
        byChannel.forEach((c, hs) -> snapshot.put(c, hs.toArray(NO_HANDLERS)));
        handlers = Map.copyOf(snapshot);
    }

    static Integer channelOf(Map<String, Object> properties) {
        Object v = properties.get(PeerMessageHandler.CHANNEL_PROPERTY);
        try {
            int c = v instanceof Number num ? num.intValue() : Integer.parseInt(String.valueOf(v).trim());
            return c >= 0 && c <= 0xFFFF ? c : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
        unbind = "removeConnectivityListener")
    void addConnectivityListener(PeerConnectivityListener listener) {
        listeners.add(listener);
        PeerNetwork n = network;
        if (n != null) {
            // through the queue of reported changes, so what it is told last is the current state
            n.runOnMonitor(() -> tell(() -> {
                if (listeners.contains(listener)) {
                    n.reachablePeers().ids().forEach(listener::peerReachable);
                }
            }));
        }
    }

    void removeConnectivityListener(PeerConnectivityListener listener) {
        listeners.remove(listener);
    }

    /** Queues a connectivity event for the listeners (see {@link #connectivityEvents}). */
    private void tell(Runnable event) {
        try {
            connectivityEvents.execute(event);
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            // deactivated: the listeners are going away too
        }
    }

    /** Routes what the network reports to the whiteboard services. */
    private final class Events implements PeerEvents {
        @Override
        public void onMessage(int fromNode, int channel, byte[] payload) {
            PeerMessageHandler[] hs = handlers.getOrDefault(channel, NO_HANDLERS);
            if (hs.length == 0) {
                LOG.trace("no handler for channel {}; message from node {} dropped", channel, fromNode);
            }
            for (PeerMessageHandler h : hs) {
                try {
                    h.onMessage(fromNode, payload);
                } catch (RuntimeException e) {
                    LOG.warn("handler {} of channel {} failed on a message from node {}", h, channel, fromNode, e);
                }
            }
        }

        @Override
        public void peerReachable(int peer) {
            tell(() -> {
                for (PeerConnectivityListener l : listeners) {
                    try {
                        l.peerReachable(peer);
                    } catch (RuntimeException e) {
                        LOG.warn("connectivity listener {} failed on peer {} reachable", l, peer, e);
                    }
                }
            });
        }

        @Override
        public void peerUnreachable(int peer) {
            tell(() -> {
                for (PeerConnectivityListener l : listeners) {
                    try {
                        l.peerUnreachable(peer);
                    } catch (RuntimeException e) {
                        LOG.warn("connectivity listener {} failed on peer {} unreachable", l, peer, e);
                    }
                }
            });
        }

        @Override
        public byte[] heartbeatPayload() {
            HeartbeatSource s = heartbeatSource;
            return s == null ? null : s.heartbeatPayload();
        }

        @Override
        public void connectionRefused(SocketAddress remote, String reason) {
            // logged by the network; nothing else to do here
        }
    }
}
