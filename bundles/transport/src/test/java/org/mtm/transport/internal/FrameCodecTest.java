package org.mtm.transport.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.Test;

public class FrameCodecTest {

    private static byte[] bytes(int n, int fill) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    private static ByteBuf encoded(Frame... frames) {
        ByteBuf buf = Unpooled.buffer();
        for (Frame f : frames) {
            FrameCodec.encode(f, buf);
        }
        return buf;
    }

    private static Frame roundTrip(Frame f) throws ProtocolException {
        ByteBuf buf = encoded(f);
        Frame decoded = FrameCodec.decode(buf, FrameCodec.MAX_FRAME_LENGTH);
        assertEquals("whole frame consumed", 0, buf.readableBytes());
        return decoded;
    }

    @Test
    public void everyKindRoundTrips() throws ProtocolException {
        Frame.Hello hello = (Frame.Hello) roundTrip(new Frame.Hello(1, 3, 64, bytes(32, 7)));
        assertEquals(1, hello.version());
        assertEquals(3, hello.clientId());
        assertEquals(64, hello.serverId());
        assertArrayEquals(bytes(32, 7), hello.clientNonce());

        Frame.Challenge challenge = (Frame.Challenge) roundTrip(new Frame.Challenge(1, bytes(32, 9)));
        assertEquals(1, challenge.version());
        assertArrayEquals(bytes(32, 9), challenge.serverNonce());

        assertArrayEquals(bytes(32, 1), ((Frame.Proof) roundTrip(new Frame.Proof(bytes(32, 1)))).mac());
        assertArrayEquals(bytes(32, 2), ((Frame.Welcome) roundTrip(new Frame.Welcome(bytes(32, 2)))).mac());
        assertEquals("bad cluster secret — ü", ((Frame.Refused) roundTrip(new Frame.Refused("bad cluster secret — ü"))).reason());
        assertEquals(new Frame.Message(65535, "abc".getBytes(StandardCharsets.UTF_8)),
            roundTrip(new Frame.Message(65535, "abc".getBytes(StandardCharsets.UTF_8))));
        assertEquals(new Frame.Message(2, new byte[0]), roundTrip(new Frame.Message(2, new byte[0])));
    }

    @Test
    public void messageHasTheDocumentedLayout() {
        ByteBuf buf = encoded(new Frame.Message(0x0102, new byte[] {9, 8}));
        byte[] wire = new byte[buf.readableBytes()];
        buf.readBytes(wire);
        // length 5 = kind + channel(2) + payload(2); kind 0x10; channel 0x0102; payload
        assertArrayEquals(new byte[] {0, 0, 0, 5, 0x10, 1, 2, 9, 8}, wire);
    }

    @Test
    public void incompleteFramesWaitWithoutConsuming() throws ProtocolException {
        ByteBuf whole = encoded(new Frame.Message(3, bytes(100, 5)));
        for (int cut = 0; cut < whole.readableBytes(); cut++) {
            ByteBuf part = whole.slice(0, cut);
            assertNull("prefix of " + cut + " bytes", FrameCodec.decode(part, FrameCodec.MAX_FRAME_LENGTH));
            assertEquals(0, part.readerIndex());
        }
    }

    @Test
    public void severalFramesInOneBufferComeOutInOrder() throws ProtocolException {
        ByteBuf buf = encoded(new Frame.Message(1, new byte[] {1}), new Frame.Message(2, new byte[] {2}),
            new Frame.Proof(bytes(32, 3)));
        assertEquals(new Frame.Message(1, new byte[] {1}), FrameCodec.decode(buf, 1000));
        assertEquals(new Frame.Message(2, new byte[] {2}), FrameCodec.decode(buf, 1000));
        assertTrue(FrameCodec.decode(buf, 1000) instanceof Frame.Proof);
        assertNull(FrameCodec.decode(buf, 1000));
    }

    private static String malformed(byte[] wire, int max) {
        try {
            Frame f = FrameCodec.decode(Unpooled.wrappedBuffer(wire), max);
            fail("expected a protocol error, decoded " + f);
            return null;
        } catch (ProtocolException e) {
            return e.getMessage();
        }
    }

    @Test
    public void emptyFrameIsRefused() {
        assertEquals("empty frame (length 0)", malformed(new byte[] {0, 0, 0, 0, 0x10}, 100));
    }

    @Test
    public void oversizedFrameIsRefusedFromItsLengthAlone() {
        // only the length field is there: the limit is enforced before the body is buffered
        assertEquals("frame of 1025 bytes exceeds the limit of 1024 bytes", malformed(new byte[] {0, 0, 4, 1}, 1024));
        assertEquals("frame of 4294967295 bytes exceeds the limit of " + FrameCodec.MAX_FRAME_LENGTH + " bytes",
            malformed(new byte[] {-1, -1, -1, -1}, FrameCodec.MAX_FRAME_LENGTH));
        // an HTTP request read as a length
        assertTrue(malformed("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII), FrameCodec.MAX_FRAME_LENGTH)
            .contains("exceeds the limit"));
    }

    @Test
    public void unknownKindIsRefused() {
        assertEquals("unknown frame kind 0x7f", malformed(new byte[] {0, 0, 0, 1, 0x7f}, 100));
    }

    @Test
    public void wrongBodySizesAreRefused() {
        assertEquals("HELLO frame body must be 38 bytes, got 2", malformed(new byte[] {0, 0, 0, 3, 1, 0, 1}, 100));
        assertEquals("PROOF frame body must be 32 bytes, got 0", malformed(new byte[] {0, 0, 0, 1, 3}, 100));
        assertEquals("MESSAGE frame too short for its channel number", malformed(new byte[] {0, 0, 0, 2, 0x10, 1}, 100));
    }

    @Test
    public void encodingRefusesBadFields() {
        try {
            encoded(new Frame.Hello(1, 1, 2, new byte[3]));
            fail("short nonce accepted");
        } catch (IllegalArgumentException e) {
            assertEquals("client nonce must be 32 bytes, got 3", e.getMessage());
        }
        ByteBuf buf = encoded(new Frame.Refused("x".repeat(5000)));
        assertTrue("long reasons are cut to fit the handshake limit",
            buf.readableBytes() <= FrameCodec.MAX_HANDSHAKE_FRAME_LENGTH + FrameCodec.LENGTH_FIELD);
    }

    @Test
    public void randomBytesNeverBreakTheDecoder() {
        Random random = new Random(42);
        for (int i = 0; i < 20_000; i++) {
            byte[] wire = new byte[random.nextInt(64)];
            random.nextBytes(wire);
            if (wire.length >= 4 && random.nextBoolean()) {
                wire[0] = 0; // make small lengths likely so bodies get parsed too
                wire[1] = 0;
                wire[2] = 0;
            }
            ByteBuf buf = Unpooled.wrappedBuffer(wire);
            try {
                while (FrameCodec.decode(buf, FrameCodec.MAX_HANDSHAKE_FRAME_LENGTH) != null) {
                    // keep decoding
                }
            } catch (ProtocolException expected) {
                // the only failure allowed
            }
        }
    }
}
