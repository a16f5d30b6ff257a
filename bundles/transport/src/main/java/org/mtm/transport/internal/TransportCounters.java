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
