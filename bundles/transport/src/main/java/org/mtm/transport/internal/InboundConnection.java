package org.mtm.transport.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import java.io.IOException;
import java.net.SocketAddress;
import javax.net.ssl.SSLException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One accepted connection: authenticates the client ({@link ServerHandshake}) before reading anything
 * else, then delivers its messages. Everything here runs on the connection's I/O thread.
 */
final class InboundConnection extends SimpleChannelInboundHandler<Frame> {
    private static final Logger LOG = LoggerFactory.getLogger(InboundConnection.class);

    private final PeerNetwork network;
    private final FrameDecoder decoder;
    private ServerHandshake handshake;
    private ScheduledFuture<?> handshakeTimeout;
    private volatile Channel channel;
    private volatile int peer;
    private volatile long lastFrameNanos = System.nanoTime();
    /** The peer said {@link org.mtm.api.Channels#LEAVING} here: nothing more from this connection is heard. */
    private volatile boolean left;

    InboundConnection(PeerNetwork network, FrameDecoder decoder) {
        this.network = network;
        this.decoder = decoder;
    }

    int peer() {
        return peer;
    }

    long lastFrameNanos() {
        return lastFrameNanos;
    }

    SocketAddress remote() {
        Channel ch = channel;
        return ch == null ? null : ch.remoteAddress();
    }

    /** Closes this connection, saying why. Any thread. */
    void close(String why) {
        Channel ch = channel;
        if (ch != null && ch.isOpen()) {
            LOG.info("{}: closing peer connection from node {} at {}: {}", network.selfName(), peer,
                ch.remoteAddress(), why);
            ch.close();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        handshake = network.newServerHandshake(ctx.channel());
        long timeout = network.timings().connectMillis();
        handshakeTimeout = ctx.executor().schedule(
            () -> refuse(ctx, "authentication not finished within " + timeout + " ms"), timeout, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
        lastFrameNanos = System.nanoTime();
        if (peer != 0) {
            if (left) {
                return; // a node shutting down: its last words would make it reachable again
            }
            if (frame instanceof Frame.Message message) {
                if (message.channel() == org.mtm.api.Channels.LEAVING) {
                    left = true;
                    network.peerLeft(this);
                    return;
                }
                network.received(peer, message);
            } else {
                protocolError(ctx, "unexpected " + frame + " after authentication");
            }
            return;
        }
        if (handshake == null) {
            return; // refused already; the channel is closing
        }
        ServerHandshake.Step step = handshake.onFrame(frame);
        if (step.refused()) {
            refuse(ctx, step.refusal());
        } else if (step.accepted()) {
            handshake = null;
            handshakeTimeout.cancel(false);
            decoder.authenticated();
            peer = step.peer();
            ctx.writeAndFlush(step.reply());
            network.inboundAuthenticated(this);
        } else {
            ctx.writeAndFlush(step.reply());
        }
    }

    private void refuse(ChannelHandlerContext ctx, String reason) {
        if (handshake == null || !ctx.channel().isOpen()) {
            return;
        }
        handshake = null;
        network.refused(ctx.channel().remoteAddress(), reason);
        ctx.writeAndFlush(new Frame.Refused(reason)).addListener(ChannelFutureListener.CLOSE);
    }

    private void protocolError(ChannelHandlerContext ctx, String what) {
        if (peer == 0) {
            if (handshake != null) {
                handshake = null;
                network.refused(ctx.channel().remoteAddress(), what);
            }
        } else {
            LOG.warn("{}: closing peer connection from node {} at {}: {}", network.selfName(), peer,
                ctx.channel().remoteAddress(), what);
        }
        ctx.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof ProtocolException) {
            protocolError(ctx, c.getMessage());
        } else if (c instanceof SSLException) {
            // no certificate, one the cluster CA did not sign, or a record that fails its MAC (altered on the way)
            protocolError(ctx, "TLS: " + c.getMessage());
        } else if (c instanceof IOException) {
            LOG.debug("{}: peer connection from {} failed: {}", network.selfName(),
                ctx.channel().remoteAddress(), c.toString());
            ctx.close();
        } else {
            LOG.warn("{}: closing peer connection from {} after an unexpected error", network.selfName(),
                ctx.channel().remoteAddress(), c);
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
        }
        if (peer != 0) {
            network.inboundClosed(this);
        }
        ctx.fireChannelInactive();
    }
}
