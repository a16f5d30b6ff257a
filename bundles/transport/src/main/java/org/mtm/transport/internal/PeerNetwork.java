package org.mtm.transport.internal;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.mtm.api.CrashPoints;
import org.mtm.api.Endpoint;
import org.mtm.api.NodeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node-to-node network of one node, without OSGi: a listener that accepts authenticated
 * connections from configured peers (what we receive), one outbound link to every configured peer
 * (what we send), heartbeats and reachability. Several can run in one JVM.
 *
 * <p>Memory is bounded per peer: a link whose unsent bytes pass {@link #WATER_MARK}'s high mark drops
 * new messages ({@link #send} returns false, logged at most once a minute), and a link that stays that
 * way for {@code heartbeat_recv_timeout} is closed and reconnected, which frees what it held. A peer
 * that has not read our bytes for that long has not seen our heartbeats either, so it already counts us
 * as unreachable; the protocols above treat the lost messages as lost on a broken link.
 */
public final class PeerNetwork implements AutoCloseable {
    /** Per-link bound on queued, unsent bytes: above 4 MiB new messages are dropped until below 1 MiB. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(1 << 20, 4 << 20);
    private static final int IO_THREADS = 2;
    static final String TLS_HANDLER = "tls";
    private static final Logger LOG = LoggerFactory.getLogger(PeerNetwork.class);

    /** Who we are and where the peers listen; selfId 0 before the cluster is configured. */
    record Membership(int selfId, Map<Integer, Endpoint> peers) {
        static final Membership NONE = new Membership(0, Map.of());

        NodeSet configuredPeers() {
            return NodeSet.of(peers.keySet());
        }
    }

    private final ClusterSecret secret;
    /** Mutual TLS under the handshake, or null (plain TCP). */
    private final TransportTls tls;
    private final PeerEvents events;
    private final EventLoopGroup group;
    /** Runs heartbeats, the silence watch and every connectivity event, so those come in order. */
    private final EventLoop monitor;
    private final Reachability reachability = new Reachability();
    private final LogLimiter warnings = new LogLimiter(TimeUnit.MINUTES.toNanos(1));
    private final Map<Integer, OutboundLink> links = new ConcurrentHashMap<>();
    private final Map<Integer, InboundConnection> inbound = new ConcurrentHashMap<>();
    private final AtomicBoolean evaluationPending = new AtomicBoolean();
    private volatile TransportTimings timings;
    private volatile Membership membership = Membership.NONE;
    /** System.nanoTime() of the last start or change of membership: the reachability view forms from then on. */
    private volatile long viewSince = System.nanoTime();
    private volatile Channel listener;
    private volatile boolean closed;
    /** {@link #leave()} was called: no more heartbeats (the peers count this node gone). */
    private volatile boolean leaving;
    private ScheduledFuture<?> heartbeatTask;
    private final TransportCounters counters;
    private ScheduledFuture<?> watchTask;

    /**
     * @param clusterSecret the shared secret every node must know; must not be empty
     */
    public PeerNetwork(String clusterSecret, TransportTimings timings, PeerEvents events) {
        this(clusterSecret, null, timings, events);
    }

    /**
     * @param tls mutual TLS on every connection, both ways; null = plain TCP
     */
    PeerNetwork(String clusterSecret, TransportTls tls, TransportTimings timings, PeerEvents events) {
        this(clusterSecret, tls, timings, events, new TransportCounters());
    }

    /**
     * @param counters bytes and reconnects of every connection (the transport keeps them across networks)
     */
    PeerNetwork(String clusterSecret, TransportTls tls, TransportTimings timings, PeerEvents events,
                TransportCounters counters) {
        this.counters = counters;
        this.tls = tls;
        this.secret = ClusterSecret.of(clusterSecret);
        this.timings = timings;
        this.events = events;
        this.group = new NioEventLoopGroup(IO_THREADS, new DefaultThreadFactory("mtm-transport", true));
        this.monitor = group.next();
        monitor.execute(this::scheduleTicks);
    }

    TransportCounters counters() {
        return counters;
    }

    /** Starts accepting peers on {@code host:port} (port 0 = any free port); returns where it listens. */
    public Endpoint listen(String host, int port) throws IOException {
        ServerBootstrap b = new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.SO_KEEPALIVE, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    FrameDecoder decoder = new FrameDecoder();
                    ch.pipeline().addLast(counters);
                    if (tls != null) {
                        ch.pipeline().addLast(TLS_HANDLER, tls.serverHandler(ch.alloc()));
                    }
                    ch.pipeline().addLast(decoder, FrameEncoder.INSTANCE, new InboundConnection(PeerNetwork.this, decoder));
                }
            });
        ChannelFuture bound = b.bind(host, port).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            Throwable cause = bound.cause();
            throw new IOException("cannot listen for peers on " + host + ":" + port + ": " + cause.getMessage(), cause);
        }
        listener = bound.channel();
        int actual = ((InetSocketAddress) listener.localAddress()).getPort();
        return new Endpoint(host, actual);
    }

    /**
     * Sets who we are and where the peers listen: links to new peers are opened, links to peers that
     * left or moved are closed, inbound connections from nodes no longer configured are dropped.
     *
     * @param selfId this node's id, 0 when the cluster is not configured yet (then there are no peers)
     */
    public synchronized void configure(int selfId, Map<Integer, Endpoint> peers) {
        if (closed) {
            return;
        }
        Map<Integer, Endpoint> others = new HashMap<>(peers);
        others.remove(selfId);
        Membership old = membership;
        Membership now = selfId == 0 ? Membership.NONE : new Membership(selfId, Map.copyOf(others));
        if (now.equals(old)) {
            return;
        }
        membership = now;
        boolean selfChanged = old.selfId() != now.selfId();
        if (selfChanged) {
            // a node that just learned who it is (a start, init_cluster, join_node) waits to hear its peers; a live
            // node whose peer list changes (mtm.add_node, join_node, drop_node) stays settled: it knows the cluster
            viewSince = System.nanoTime();
            everSettled = false;
        }
        links.entrySet().removeIf(e -> {
            boolean obsolete = selfChanged || !e.getValue().endpoint().equals(now.peers().get(e.getKey()));
            if (obsolete) {
                e.getValue().stop();
            }
            return obsolete;
        });
        inbound.forEach((peer, connection) -> {
            if (selfChanged || !now.peers().containsKey(peer)) {
                connection.close("node " + peer + " is no longer a configured peer of " + nodeName(now.selfId()));
            }
        });
        NodeSet forgotten = selfChanged ? old.configuredPeers() : old.configuredPeers().minus(now.configuredPeers());
        for (int gone : forgotten.ids()) {
            reachability.forget(gone);
        }
        now.peers().forEach((peer, endpoint) -> {
            if (links.containsKey(peer)) {
                return;
            }
            if (endpoint.port() == 0) {
                LOG.warn("{}: peer {} has no transport port in the cluster configuration; not linking to it",
                    nodeName(now.selfId()), peer);
                return;
            }
            OutboundLink link = new OutboundLink(this, now.selfId(), peer, endpoint, group.next());
            links.put(peer, link);
            link.start();
        });
        LOG.info("{}: transport peers are now {}", nodeName(now.selfId()), now.peers());
        requestEvaluation();
    }

    /** Applies new heartbeat and connect timings to every link, live. */
    public void setTimings(TransportTimings newTimings) {
        timings = newTimings;
        runOnMonitor(this::scheduleTicks);
    }

    TransportTimings timings() {
        return timings;
    }

    Membership membership() {
        return membership;
    }

    /** Null without TLS. */
    TransportTls tls() {
        return tls;
    }

    ClusterSecret secret() {
        return secret;
    }

    /** "node 3", or "unconfigured node" before the cluster configuration is known: for log lines. */
    String selfName() {
        return nodeName(membership.selfId());
    }

    private static String nodeName(int id) {
        return id == 0 ? "unconfigured node" : "node " + id;
    }

    LogLimiter warnings() {
        return warnings;
    }

    /** Peers heard from within the receive timeout. */
    public NodeSet reachablePeers() {
        return reachability.reachable();
    }

    /** Settled once for this node id: a later change of the peers (a node added or dropped) does not unsettle it. */
    private volatile boolean everSettled;

    /** See {@link org.mtm.api.Transport#settled()}. */
    public boolean settled() {
        if (everSettled) {
            return true;
        }
        boolean now = reachablePeers().containsAll(membership.configuredPeers())
            || System.nanoTime() - viewSince >= TimeUnit.MILLISECONDS.toNanos(timings.heartbeatRecvMillis());
        if (now && membership.selfId() != 0) {
            everSettled = true;
        }
        return now;
    }

    /** Peers whose outbound link is authenticated now. */
    public NodeSet linkedPeers() {
        NodeSet s = NodeSet.EMPTY;
        for (OutboundLink link : links.values()) {
            if (link.linkedChannel() != null) {
                s = s.with(link.peer());
            }
        }
        return s;
    }

    /**
     * Queues {@code payload} for {@code peer}; false (and dropped) when there is no authenticated link
     * or the link has too many unsent bytes. The payload is encoded before this returns.
     */
    public boolean send(int peer, int channel, byte[] payload) {
        checkChannel(channel);
        OutboundLink link = links.get(peer);
        if (link == null || link.linkedChannel() == null || CrashPoints.linksCut()) {
            return false;
        }
        return link.write(encodeMessage(channel, payload));
    }

    /** {@link #send} to every configured peer; returns those it was queued for. */
    public NodeSet broadcast(int channel, byte[] payload) {
        checkChannel(channel);
        if (CrashPoints.linksCut()) {
            return NodeSet.EMPTY; // test-only: a cut link
        }
        ByteBuf frame = encodeMessage(channel, payload);
        try {
            NodeSet sent = NodeSet.EMPTY;
            for (OutboundLink link : links.values()) {
                if (link.linkedChannel() != null && link.write(frame.retainedDuplicate())) {
                    sent = sent.with(link.peer());
                }
            }
            return sent;
        } finally {
            frame.release();
        }
    }

    private static void checkChannel(int channel) {
        if (channel < 0 || channel > 0xFFFF) {
            throw new IllegalArgumentException("channel must be 0..65535, got " + channel);
        }
    }

    private static ByteBuf encodeMessage(int channel, byte[] payload) {
        if (payload.length > FrameCodec.MAX_PAYLOAD) {
            throw new IllegalArgumentException("message of " + payload.length + " bytes exceeds the transport limit of "
                + FrameCodec.MAX_PAYLOAD + " bytes");
        }
        ByteBuf buf = ByteBufAllocator.DEFAULT.buffer(FrameCodec.LENGTH_FIELD + FrameCodec.MESSAGE_OVERHEAD + payload.length);
        FrameCodec.encode(new Frame.Message(channel, payload), buf);
        return buf;
    }

    /** Runs {@code task} on the thread that reports connectivity changes, after any pending ones. */
    public void runOnMonitor(Runnable task) {
        try {
            monitor.execute(task);
        } catch (RejectedExecutionException e) {
            LOG.debug("transport is shutting down; task not run", e);
        }
    }

    // ---- called by the connections -------------------------------------------------------------

    ServerHandshake newServerHandshake(Channel ch) {
        Membership m = membership;
        return new ServerHandshake(secret, m.selfId(), m.peers()::containsKey, ClusterSecret.newNonce(), identity(ch));
    }

    /** With TLS: whether the certificate the channel's peer presented names node N (see {@link NodeCertificate}). */
    IntFunction<String> identity(Channel ch) {
        if (tls == null) {
            return node -> null;
        }
        return node -> {
            SslHandler handler = (SslHandler) ch.pipeline().get(TLS_HANDLER);
            try {
                return NodeCertificate.refusal(handler.engine().getSession().getPeerCertificates(), node);
            } catch (SSLPeerUnverifiedException e) {
                return NodeCertificate.refusal(null, node);
            }
        };
    }

    void refused(SocketAddress remote, String reason) {
        String host = remote instanceof InetSocketAddress a ? a.getHostString() : String.valueOf(remote);
        if (warnings.shouldLog(host + " " + reason, System.nanoTime())) {
            LOG.warn("{}: refused peer connection from {}: {}", selfName(), remote, reason);
        } else {
            LOG.debug("{}: refused peer connection from {}: {}", selfName(), remote, reason);
        }
        try {
            events.connectionRefused(remote, reason);
        } catch (RuntimeException e) {
            LOG.warn("connection-refused callback failed", e);
        }
    }

    /** An inbound connection proved it is {@code connection.peer()}; a previous one from it is stale. */
    void inboundAuthenticated(InboundConnection connection) {
        int peer = connection.peer();
        InboundConnection previous = inbound.put(peer, connection);
        LOG.info("{}: accepted peer connection from node {} at {}", selfName(), peer, connection.remote());
        if (previous != null && previous != connection) {
            previous.close("node " + peer + " opened a new connection");
        }
        if (!membership.peers().containsKey(peer)) {
            connection.close("node " + peer + " is no longer a configured peer");
            return;
        }
        heard(peer);
    }

    void inboundClosed(InboundConnection connection) {
        if (inbound.remove(connection.peer(), connection)) {
            LOG.info("{}: peer connection from node {} at {} closed", selfName(), connection.peer(),
                connection.remote());
        }
    }

    void received(int peer, Frame.Message message) {
        if (CrashPoints.linksCut()) {
            return; // test-only: a cut link hears nothing
        }
        heard(peer);
        try {
            events.onMessage(peer, message.channel(), message.payload());
        } catch (RuntimeException e) {
            LOG.warn("{}: handler of channel {} failed on a message from node {}", selfName(),
                message.channel(), peer, e);
        }
    }

    /** A link just authenticated: tell the peer at once that we are here, without waiting for the tick. */
    void linked(OutboundLink link) {
        if (CrashPoints.linksCut()) {
            return;
        }
        link.write(encodeMessage(org.mtm.api.Channels.HEARTBEAT, heartbeatPayload()));
    }

    private void heard(int peer) {
        reachability.heard(peer, System.nanoTime());
        if (!reachability.isReachable(peer)) {
            requestEvaluation();
        }
    }

    private void requestEvaluation() {
        if (evaluationPending.compareAndSet(false, true)) {
            runOnMonitor(() -> {
                evaluationPending.set(false);
                evaluate();
            });
        }
    }

    // ---- on the monitor thread ------------------------------------------------------------------

    private void scheduleTicks() {
        if (heartbeatTask != null) {
            heartbeatTask.cancel(false);
            watchTask.cancel(false);
        }
        if (closed) {
            return;
        }
        TransportTimings t = timings;
        heartbeatTask = monitor.scheduleAtFixedRate(this::sendHeartbeats, t.heartbeatSendMillis(), t.heartbeatSendMillis(),
            TimeUnit.MILLISECONDS);
        watchTask = monitor.scheduleAtFixedRate(this::watch, t.watchMillis(), t.watchMillis(), TimeUnit.MILLISECONDS);
    }

    private byte[] heartbeatPayload() {
        try {
            byte[] p = events.heartbeatPayload();
            return p == null ? new byte[0] : p;
        } catch (RuntimeException e) {
            if (warnings.shouldLog("heartbeat payload", System.nanoTime())) {
                LOG.warn("{}: heartbeat source failed; sending empty heartbeats", selfName(), e);
            }
            return new byte[0];
        }
    }

    /** See {@link org.mtm.api.Transport#leave()}: tells every linked peer, then sends no more heartbeats. */
    public NodeSet leave() {
        leaving = true;
        NodeSet told = broadcast(org.mtm.api.Channels.LEAVING, new byte[0]);
        LOG.info("{}: leaving: told peers {} that this node is shutting down", selfName(), told);
        return told;
    }

    /** A peer said it is shutting down on {@code connection}: unreachable now, and nothing more is heard from it there. */
    void peerLeft(InboundConnection connection) {
        int peer = connection.peer();
        LOG.info("{}: peer {} is shutting down; counting it unreachable now", selfName(), peer);
        reachability.forget(peer);
        requestEvaluation();
    }

    private void sendHeartbeats() {
        if (leaving) {
            return;
        }
        if (!links.isEmpty()) {
            broadcast(org.mtm.api.Channels.HEARTBEAT, heartbeatPayload());
        }
    }

    private void watch() {
        evaluate();
        long now = System.nanoTime();
        long recvNanos = TimeUnit.MILLISECONDS.toNanos(timings.heartbeatRecvMillis());
        for (InboundConnection c : inbound.values()) {
            if (now - c.lastFrameNanos() > recvNanos) {
                c.close("nothing received for " + timings.heartbeatRecvMillis() + " ms (heartbeat_recv_timeout)");
            }
        }
        for (OutboundLink link : links.values()) {
            link.closeIfStalled(now, recvNanos);
        }
    }

    private void evaluate() {
        if (closed) {
            return;
        }
        Membership m = membership;
        TransportTimings t = timings;
        Reachability.Transitions changes = reachability.evaluate(System.nanoTime(),
            TimeUnit.MILLISECONDS.toNanos(t.heartbeatRecvMillis()), m.configuredPeers());
        for (int peer : changes.becameUnreachable().ids()) {
            LOG.info("{}: peer {} is unreachable (nothing received for {} ms)", nodeName(m.selfId()), peer,
                t.heartbeatRecvMillis());
            try {
                events.peerUnreachable(peer);
            } catch (RuntimeException e) {
                LOG.warn("{}: connectivity listener failed on peer {} unreachable", nodeName(m.selfId()), peer, e);
            }
        }
        for (int peer : changes.becameReachable().ids()) {
            LOG.info("{}: peer {} is reachable", nodeName(m.selfId()), peer);
            try {
                events.peerReachable(peer);
            } catch (RuntimeException e) {
                LOG.warn("{}: connectivity listener failed on peer {} reachable", nodeName(m.selfId()), peer, e);
            }
        }
    }

    /**
     * Closes every connection and stops the I/O threads (quickly: short quiet period), then reports the
     * peers that were reachable as unreachable, on the calling thread.
     */
    private boolean onIoThread() {
        for (io.netty.util.concurrent.EventExecutor e : group) {
            if (e.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        links.values().forEach(OutboundLink::stop);
        Channel l = listener;
        if (l != null) {
            l.close();
        }
        group.shutdownGracefully(10, 1000, TimeUnit.MILLISECONDS);
        if (!onIoThread()) {
            group.terminationFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        for (int peer : reachability.clear().ids()) {
            try {
                events.peerUnreachable(peer);
            } catch (RuntimeException e) {
                LOG.warn("connectivity listener failed on peer {} unreachable", peer, e);
            }
        }
    }
}
