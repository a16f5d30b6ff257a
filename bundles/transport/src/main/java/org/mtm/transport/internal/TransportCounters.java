package org.mtm.transport.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.atomic.LongAdder;

/**
 * Bytes on the wire of every peer connection, both ways (TLS included: it is the first handler of each pipeline), and
 * links lost and reconnected; the transport's metrics {@code mtm.transport.bytes_sent}, {@code .bytes_received},
 * {@code .reconnects}. One instance per transport component, kept across restarts of its network.
 */
@Sharable
final class TransportCounters extends ChannelDuplexHandler {
    private final LongAdder sent = new LongAdder();
    private final LongAdder received = new LongAdder();
    private final LongAdder reconnects = new LongAdder();
    /** Frames handed to the channels after authentication, and the drains (one flush each) that wrote them. */
    private final LongAdder framesWritten = new LongAdder();
    private final LongAdder writeBatches = new LongAdder();
    private final LongAdder messagesReceived = new LongAdder();
    /** Messages queued to a peer, by channel (0..{@value #CHANNELS}-1; higher channels in the last slot). */
    private final LongAdder[] sentByChannel = new LongAdder[CHANNELS];
    static final int CHANNELS = 16;

    TransportCounters() {
        for (int i = 0; i < CHANNELS; i++) {
            sentByChannel[i] = new LongAdder();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof ByteBuf b) {
            received.add(b.readableBytes());
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof ByteBuf b) {
            sent.add(b.readableBytes());
        }
        super.write(ctx, msg, promise);
    }

    /** A link that was up is lost; its outbound side reconnects. */
    void linkLost() {
        reconnects.increment();
    }

    /** One drain wrote {@code frames} frames and flushed once. */
    void wrote(int frames) {
        framesWritten.add(frames);
        writeBatches.increment();
    }

    /** A message on {@code channel} was queued to one peer. */
    void queued(int channel) {
        sentByChannel[Math.min(channel, CHANNELS - 1)].increment();
    }

    /** A message arrived from an authenticated peer. */
    void receivedMessage() {
        messagesReceived.increment();
    }

    long framesWritten() {
        return framesWritten.sum();
    }

    long writeBatches() {
        return writeBatches.sum();
    }

    long messagesReceived() {
        return messagesReceived.sum();
    }

    long messagesQueued(int channel) {
        return sentByChannel[Math.min(channel, CHANNELS - 1)].sum();
    }

    long bytesSent() {
        return sent.sum();
    }

    long bytesReceived() {
        return received.sum();
    }

    long reconnects() {
        return reconnects.sum();
    }
}
