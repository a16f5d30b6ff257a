package org.mtm.transport.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Netty adapter of {@link FrameCodec#decode}. Starts with the small handshake limit; the connection's
 * handler raises it once the peer is authenticated. After a protocol error it discards everything, so
 * nothing more from that connection is read while it closes.
 */
final class FrameDecoder extends ByteToMessageDecoder {
    private volatile int maxFrameLength = FrameCodec.MAX_HANDSHAKE_FRAME_LENGTH;
    private boolean failed;

    void authenticated() {
        maxFrameLength = FrameCodec.MAX_FRAME_LENGTH;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws ProtocolException {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            Frame frame;
            while ((frame = FrameCodec.decode(in, maxFrameLength)) != null) {
                out.add(frame);
                if (ctx.isRemoved()) {
                    return;
                }
            }
        } catch (ProtocolException e) {
            failed = true;
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }
}
