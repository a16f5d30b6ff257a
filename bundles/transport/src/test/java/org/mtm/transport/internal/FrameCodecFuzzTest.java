package org.mtm.transport.internal;

import static org.junit.Assert.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.mtm.testing.Fuzz;

/**
 * Malformed transport frames (issue 14): mutations of valid frames of every kind, concatenated into streams and fed
 * to the decoder in random chunks, as a peer's connection would deliver them. The decoder returns frames, waits for
 * more bytes (null), or throws {@link ProtocolException} — never another exception, never a frame over the limit.
 */
public class FrameCodecFuzzTest {
    private static final int LIMIT = 1024 * 1024;

    @Test
    public void malformedStreamsEndInAProtocolErrorOrWaitForBytes() {
        List<byte[]> valid = new ArrayList<>();
        for (Frame f : List.of(new Frame.Hello(FrameCodec.PROTOCOL_VERSION, 1, 2, new byte[FrameCodec.NONCE_LENGTH]),
                new Frame.Challenge(FrameCodec.PROTOCOL_VERSION, new byte[FrameCodec.NONCE_LENGTH]),
                new Frame.Proof(new byte[FrameCodec.MAC_LENGTH]), new Frame.Welcome(new byte[FrameCodec.MAC_LENGTH]),
                new Frame.Refused("wrong cluster secret"), new Frame.Message(7, new byte[] {1, 2, 3}),
                new Frame.Message(0x0102, new byte[300]))) {
            ByteBuf buf = Unpooled.buffer();
            FrameCodec.encode(f, buf);
            byte[] b = new byte[buf.readableBytes()];
            buf.readBytes(b);
            valid.add(b);
        }
        Fuzz fuzz = Fuzz.of("FrameCodecFuzzTest", 40_000);
        int refused = 0;
        for (int i = 0; i < fuzz.inputs; i++) {
            ByteBuf stream = Unpooled.buffer();
            int frames = 1 + fuzz.random().nextInt(3);
            for (int k = 0; k < frames; k++) {
                stream.writeBytes(fuzz.random().nextBoolean() ? valid.get(fuzz.random().nextInt(valid.size())) : fuzz.next(valid));
            }
            ByteBuf in = Unpooled.buffer();
            try {
                while (stream.isReadable()) {
                    in.writeBytes(stream, Math.min(stream.readableBytes(), 1 + fuzz.random().nextInt(64)));
                    Frame f;
                    while ((f = FrameCodec.decode(in, LIMIT)) != null) {
                        if (f instanceof Frame.Message m) {
                            assertTrue("a message within the limit", m.payload().length <= LIMIT);
                        }
                    }
                }
            } catch (ProtocolException expected) {
                refused++;
            } catch (RuntimeException e) {
                throw new AssertionError("stream #" + i + " (seed " + fuzz.seed + "): " + e, e);
            }
        }
        System.out.println("[fuzz] FrameCodecFuzzTest: " + refused + " of " + fuzz.inputs + " streams refused");
        assertTrue("some streams are refused: " + refused, refused > 0);
    }
}
