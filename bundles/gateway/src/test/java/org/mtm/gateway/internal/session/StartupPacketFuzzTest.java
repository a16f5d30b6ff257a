package org.mtm.gateway.internal.session;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.Test;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.testing.Fuzz;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;

/**
 * Malformed startup packets (issue 14), the first bytes any client sends: mutations of SSLRequest, GSSENCRequest,
 * CancelRequest and StartupMessages with random pairs (bit flips, edge bytes, insertions, deletions, truncations,
 * splices, absurd lengths) and random bytes, each in a buffer that ends where the input ends. {@link StartupPacket}
 * either waits for bytes the packet says are still to come, or decodes it, or refuses it with a FATAL error of
 * PostgreSQL's (08P01, 0A000, 28000) — never an exception, never a read past the input. An accepted StartupMessage
 * gets the gateway's session option and stays a valid packet with the same pairs.
 */
public class StartupPacketFuzzTest {
    private static final Set<String> REFUSALS = Set.of("08P01", "0A000", "28000");
    private static final String[] NAMES = {"database", "options", "application_name", "replication",
        "client_encoding", "DateStyle", "_pq_.x", "ü"};
    private static final String[] VALUES = {"alice", "mydb", "-c geqo=off", "", "true", "database", "UTF8", "日本",
        "x".repeat(300), "-c search_path=a\\ b"};

    static byte[] startup(int code, List<String> pairs) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String s : pairs) {
            body.writeBytes(s.getBytes(UTF_8));
            body.write(0);
        }
        body.write(0);
        ByteBuf b = Unpooled.buffer();
        b.writeInt(8 + body.size()).writeInt(code).writeBytes(body.toByteArray());
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    private static byte[] request(int length, int code, int... more) {
        ByteBuf b = Unpooled.buffer().writeInt(length).writeInt(code);
        for (int m : more) {
            b.writeInt(m);
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    private static List<byte[]> valid(Random r) {
        List<byte[]> valid = new ArrayList<>();
        valid.add(request(8, PgWire.SSL_REQUEST));
        valid.add(request(8, PgWire.GSSENC_REQUEST));
        valid.add(request(16, PgWire.CANCEL_REQUEST, 4242, -17));
        for (int k = 0; k < 40; k++) {
            List<String> pairs = new ArrayList<>(List.of("user", VALUES[r.nextInt(3)]));
            for (int p = r.nextInt(5); p > 0; p--) {
                pairs.add(NAMES[r.nextInt(NAMES.length)]);
                pairs.add(VALUES[r.nextInt(VALUES.length)]);
            }
            valid.add(startup(k % 10 == 0 ? PgWire.PROTOCOL_3 | 2 : PgWire.PROTOCOL_3, pairs));
        }
        return valid;
    }

    @Test
    public void everyStartupPacketIsDecodedAwaitedOrRefusedCleanly() {
        Fuzz fuzz = Fuzz.of("StartupPacketFuzzTest", 40_000);
        Random r = fuzz.random();
        List<byte[]> valid = valid(r);
        for (byte[] v : valid) {
            StartupPacket p = StartupPacket.read(Unpooled.wrappedBuffer(v));
            assertNotNull(p);
            assertNull("valid packets are not refused: " + p, p.refusal());
        }
        int[] kinds = new int[StartupPacket.Kind.values().length];
        int waiting = 0;
        for (int i = 0; i < fuzz.inputs; i++) {
            byte[] input = fuzz.next(valid);
            try {
                StartupPacket p = check(input);
                if (p == null) {
                    waiting++;
                } else {
                    kinds[p.kind().ordinal()]++;
                }
            } catch (RuntimeException | AssertionError e) {
                throw new AssertionError("input #" + i + " (seed " + fuzz.seed + "): " + HexFormat.of().formatHex(input)
                    + ": " + e, e);
            }
        }
        System.out.println("[fuzz] StartupPacketFuzzTest: " + fuzz.inputs + " packets: " + waiting + " wait for more, "
            + java.util.Arrays.toString(StartupPacket.Kind.values()) + " " + java.util.Arrays.toString(kinds));
    }

    /** Decodes one input as the gateway does and checks the outcome; the packet, or null while it waits. */
    private static StartupPacket check(byte[] input) {
        ByteBuf in = Unpooled.wrappedBuffer(input); // capacity = the input: a read past it throws
        StartupPacket p = StartupPacket.read(in);
        assertEquals("the reader index stays", 0, in.readerIndex());
        if (p == null) {
            assertTrue("waits only for bytes still to come", input.length < 4 || input.length < declared(input)
                && declared(input) >= 8 && declared(input) <= PgWire.MAX_STARTUP_LENGTH);
            return null;
        }
        switch (p.kind()) {
            case INVALID -> {
                assertEquals("FATAL", p.refusal().severity());
                assertTrue(p.refusal().toString(), REFUSALS.contains(p.refusal().sqlState()));
                assertFalse(p.refusal().message().isEmpty());
            }
            case STARTUP -> {
                assertTrue(p.length() <= input.length);
                assertFalse(p.params().user().isEmpty());
                ByteBuf sent = StartupParameters.withOptions(ByteBufAllocator.DEFAULT, in, 0, p.length(),
                    Session.GATEWAY_SESSION_OPTION);
                try {
                    StartupPacket again = StartupPacket.read(sent);
                    assertNotNull(again);
                    assertEquals("what PostgreSQL gets is a valid packet: " + again.refusal(), StartupPacket.Kind.STARTUP,
                        again.kind());
                    assertEquals(p.params().user(), again.params().user());
                    assertEquals(p.params().database(), again.params().database());
                    assertEquals(p.params().replication(), again.params().replication());
                    assertTrue(again.length() <= PgWire.MAX_STARTUP_LENGTH);
                } finally {
                    sent.release();
                }
            }
            case CANCEL -> assertEquals(p.length() == 16, p.wellFormedCancel());
            case SSL_REQUEST, GSSENC_REQUEST -> assertTrue(p.length() >= 8 && p.length() <= input.length);
            default -> throw new AssertionError(p.kind());
        }
        return p;
    }

    private static int declared(byte[] b) {
        return b.length < 4 ? -1 : (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }
}
