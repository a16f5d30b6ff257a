package org.mtm.transport.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.io.IOException;
import javax.net.ssl.SSLException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.mtm.api.Endpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Our one outbound connection to a peer, for everything we send it. Connects, authenticates
 * ({@link ClientHandshake}) and reconnects with capped backoff until stopped. Its state lives on one
 * I/O thread ({@code loop}); {@link #write} and {@link #linkedChannel} may be called from any thread.
 */
final class OutboundLink {
    private static final Logger LOG = LoggerFactory.getLogger(OutboundLink.class);
    private static final long DROP_LOG_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final PeerNetwork network;
    private final int selfId;
    private final int peer;
    private final Endpoint endpoint;
    private final EventLoop loop;
    private final Backoff backoff;
    private volatile Channel linked;
    private volatile boolean stopped;
    /** nanoTime when the link stopped being writable, 0 while writable. */
    private volatile long unwritableSince;
    private Channel channel;
    /** Why the current attempt failed, for the log when it closes. Loop thread. */
    private String failure;
    /** Whether the current outage has been logged at INFO already. Loop thread. */
    private boolean outageLogged;
    private long dropped;
    private long lastDropLog;

    OutboundLink(PeerNetwork network, int selfId, int peer, Endpoint endpoint, EventLoop loop) {
        this.network = network;
        this.selfId = selfId;
        this.peer = peer;
        this.endpoint = endpoint;
        this.loop = loop;
        TransportTimings t = network.timings();
        this.backoff = new Backoff(t.reconnectMinMillis(), t.reconnectMaxMillis());
    }

    int peer() {
        return peer;
    }

    Endpoint endpoint() {
        return endpoint;
    }

    /** The authenticated channel, or null while there is none. */
    Channel linkedChannel() {
        return linked;
    }

    void start() {
        execute(this::connect);
    }

    void stop() {
        stopped = true;
        execute(() -> {
            if (channel != null) {
                channel.close();
            }
        });
    }

    private void execute(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            LOG.debug("transport is shutting down; link to peer {} not touched", peer);
        }
    }

    /** Queues an encoded frame; false (frame released) when not linked or too much is queued already. */
    boolean write(ByteBuf frame) {
        Channel ch = linked;
        if (ch == null) {
            frame.release();
            return false;
        }
        if (!ch.isWritable()) {
            frame.release();
            noteDropped();
            return false;
        }
        ch.writeAndFlush(frame, ch.voidPromise());
        return true;
    }

    private synchronized void noteDropped() {
        dropped++;
        long now = System.nanoTime();
        if (lastDropLog == 0 || now - lastDropLog > DROP_LOG_INTERVAL_NANOS) {
            LOG.warn("node {}: dropping messages to peer {} at {}: more than {} bytes wait to be sent (the peer is not "
                + "reading); {} dropped so far", selfId, peer, endpoint, PeerNetwork.WATER_MARK.high(), dropped);
            lastDropLog = now;
        }
    }

    /**
     * Called by the watch: a link that could not send for the whole receive timeout is closed, which
     * frees what it queued; it reconnects as after any loss.
     */
    void closeIfStalled(long nowNanos, long recvTimeoutNanos) {
        Channel ch = linked;
        long since = unwritableSince;
        if (ch != null && since != 0 && nowNanos - since > recvTimeoutNanos) {
            LOG.warn("node {}: peer {} at {} has not read what we sent for {} ms; closing the link to free it and "
                + "reconnecting", selfId, peer, endpoint, TimeUnit.NANOSECONDS.toMillis(nowNanos - since));
            ch.close();
        }
    }

    // ---- loop thread ---------------------------------------------------------------------------

    private void connect() {
        if (stopped) {
            return;
        }
        failure = null;
        Bootstrap b = new Bootstrap()
            .group(loop)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, network.timings().connectMillis()))
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.SO_KEEPALIVE, true)
            .option(ChannelOption.WRITE_BUFFER_WATER_MARK, PeerNetwork.WATER_MARK)
            .handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    TransportTls tls = network.tls();
                    ch.pipeline().addLast(network.counters());
                    if (tls != null) {
                        ch.pipeline().addLast(PeerNetwork.TLS_HANDLER, tls.clientHandler(ch.alloc(), endpoint.host(), endpoint.port()));
                    }
                    ch.pipeline().addLast(new FlushConsolidationHandler(256, true), new FrameDecoder(),
                        FrameEncoder.INSTANCE, new Handler());
                }
            });
        ChannelFuture attempt = b.connect(endpoint.host(), endpoint.port());
        Channel ch = attempt.channel();
        channel = ch;
        // Netty may complete the close future before this one: decide here which path the attempt takes
        attempt.addListener(f -> {
            if (f.isSuccess()) {
                ch.closeFuture().addListener(x -> closed(ch));
            } else {
                failure = "cannot connect: " + describe(f.cause());
                closed(ch);
            }
        });
    }

    private void closed(Channel ch) {
        boolean wasLinked = linked == ch;
        if (wasLinked) {
            linked = null;
            unwritableSince = 0;
        }
        if (channel == ch) {
            channel = null;
        }
        if (stopped) {
            return;
        }
        String why = failure != null ? failure : "connection closed by the peer";
        long delay = backoff.nextDelayMillis();
        if (wasLinked) {
            network.counters().linkLost();
            LOG.info("node {}: link to peer {} at {} lost ({}); reconnecting", selfId, peer, endpoint, why);
            outageLogged = true;
        } else if (!outageLogged) {
            LOG.info("node {}: cannot link to peer {} at {} ({}); retrying every {} ms at most", selfId, peer, endpoint, why,
                network.timings().reconnectMaxMillis());
            outageLogged = true;
        } else {
            LOG.debug("node {}: cannot link to peer {} at {} ({}); retrying in {} ms", selfId, peer, endpoint, why, delay);
        }
        try {
            loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            LOG.debug("transport is shutting down; not reconnecting to peer {}", peer);
        }
    }

    private void authFailed(String why) {
        failure = why;
        if (network.warnings().shouldLog("link " + peer + " " + why, System.nanoTime())) {
            LOG.warn("node {}: peer {} at {} did not authenticate: {}", selfId, peer, endpoint, why);
        }
    }

    private static String describe(Throwable t) {
        return t == null ? "unknown error" : t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    /** The pipeline's last handler: runs the handshake, then only watches writability and errors. */
    private final class Handler extends SimpleChannelInboundHandler<Frame> {
        private ClientHandshake handshake;
        private ScheduledFuture<?> timeout;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            handshake = new ClientHandshake(network.secret(), selfId, peer, ClusterSecret.newNonce(),
                network.identity(ctx.channel()));
            long millis = network.timings().connectMillis();
            timeout = ctx.executor().schedule(() -> {
                authFailed("authentication not finished within " + millis + " ms");
                ctx.close();
            }, millis, TimeUnit.MILLISECONDS);
            ctx.writeAndFlush(handshake.hello());
            ctx.fireChannelActive();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
            if (handshake == null) {
                failure = "unexpected " + frame + " from the peer after authentication";
                LOG.warn("node {}: closing link to peer {} at {}: {}", selfId, peer, endpoint, failure);
                ctx.close();
                return;
            }
            ClientHandshake.Step step = handshake.onFrame(frame);
            if (step.reply() != null) {
                ctx.writeAndFlush(step.reply());
            }
            if (step.failure() != null) {
                handshake = null;
                authFailed(step.failure());
                ctx.close();
            } else if (step.linked()) {
                handshake = null;
                timeout.cancel(false);
                backoff.reset();
                outageLogged = false;
                linked = ctx.channel();
                LOG.info("node {}: linked to peer {} at {}", selfId, peer, endpoint);
                network.linked(OutboundLink.this);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            long now = System.nanoTime();
            unwritableSince = ctx.channel().isWritable() ? 0 : (now == 0 ? 1 : now);
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
            if (c instanceof ProtocolException || c instanceof SSLException) {
                failure = c instanceof SSLException ? "TLS: " + c.getMessage() : c.getMessage();
                LOG.warn("node {}: closing link to peer {} at {}: {}", selfId, peer, endpoint, failure);
            } else if (c instanceof IOException) {
                failure = describe(c);
            } else {
                failure = describe(c);
                LOG.warn("node {}: closing link to peer {} at {} after an unexpected error", selfId, peer, endpoint, c);
            }
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timeout != null) {
                timeout.cancel(false);
            }
            ctx.fireChannelInactive();
        }
    }
}
