package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.api.Endpoint;
import org.mtm.testing.Fuzz;

/**
 * Bad input on a live gateway port (issue 14), a black-box run: connections that send random bytes, mutated startup
 * packets, or a valid startup followed by garbage messages. Each must be closed by the gateway within a bound (a
 * protocol error where the protocol has one), and a session opened before keeps working throughout.
 */
public class GatewayBadInputTest {
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG);
    private static final int CLOSE_BOUND_MS = 10_000;

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @Test
    public void everyBadConnectionIsClosedAndOtherSessionsCarryOn() throws Exception {
        GW.server().limits(0, 1000);
        Fuzz fuzz = Fuzz.of("GatewayBadInputTest", 300);
        Random r = fuzz.random();
        List<byte[]> startups = List.of(startup(), sslRequest(), cancelRequest());
        try (Connection bystander = TestPostgres.connect(GW.endpoint())) {
            int errors = 0;
            for (int i = 0; i < fuzz.inputs; i++) {
                byte[] first;
                byte[] then = new byte[0];
                switch (r.nextInt(3)) {
                    case 0 -> first = fuzz.next(startups);
                    case 1 -> {
                        first = startup();
                        then = fuzz.next(List.of(query("SELECT 1"), new byte[] {'X', 0, 0, 0, 4}, query("BEGIN")));
                    }
                    default -> {
                        first = new byte[r.nextInt(200)];
                        r.nextBytes(first);
                    }
                }
                byte[] reply = exchange(GW.endpoint(), first, then, i, fuzz.seed);
                if (reply.length > 0 && containsError(reply)) {
                    errors++;
                }
                if (i % 50 == 0) {
                    assertEquals("the session opened before still answers (input #" + i + ")", 1, selectOne(bystander));
                }
            }
            assertEquals("the session opened before still answers", 1, selectOne(bystander));
            System.out.println("[fuzz] GatewayBadInputTest: " + fuzz.inputs + " bad connections closed, " + errors
                + " with an ErrorResponse");
            assertTrue("protocol errors were reported: " + errors, errors > 0);
        } finally {
            GW.server().limits(0, 0);
        }
    }

    @Test
    public void aFloodOfPipelinedQueriesWithoutReadingRepliesDoesNotStopOthers() throws Exception {
        try (Connection bystander = TestPostgres.connect(GW.endpoint());
             Socket flood = new Socket(GW.endpoint().host(), GW.endpoint().port())) {
            flood.setSoTimeout(CLOSE_BOUND_MS);
            OutputStream out = flood.getOutputStream();
            out.write(startup());
            out.flush();
            byte[] q = query("SELECT repeat('x', 1000)");
            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            for (int i = 0; i < 500; i++) {
                batch.write(q);
            }
            byte[] chunk = batch.toByteArray();
            // 100,000 queries, ~100 MB of replies the client never reads
            int chunks = Integer.getInteger("mtm.flood.chunks", 200);
            long before = bufferMemory();
            java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
            // the client never reads: the gateway stops reading it once its replies back up (TCP pushes back here)
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < chunks; i++) {
                        out.write(chunk);
                        written.addAndGet(chunk.length);
                    }
                } catch (IOException expected) {
                    // closed below
                }
            }, "flood");
            writer.setDaemon(true);
            writer.start();
            long peak = before;
            for (int i = 0; i < 20; i++) {
                assertEquals("others are served during the flood", 1, selectOne(bystander));
                peak = Math.max(peak, bufferMemory());
                Thread.sleep(50); // a gap on purpose: one sample every 50 ms during the flood
            }
            // the replies the client would get: ~1 kB per query
            long replies = written.get() / q.length * 1000;
            System.out.println("[flood] " + written.get() / q.length + " queries sent without reading (~" + replies / 1_000_000
                + " MB of replies); the gateway's Netty buffers: " + before / 1_000_000 + " MB before, peak " + peak / 1_000_000
                + " MB during the flood");
            assertTrue("the gateway holds a bounded part of the replies, not all of them: peak " + peak / 1_000_000 + " MB",
                peak - before < 64_000_000);
            flood.close();
            writer.join(CLOSE_BOUND_MS);
            assertEquals("others are served after the flood", 1, selectOne(bystander));
        }
    }

    @Test
    public void malformedMessagesOfAReadySessionGetTheGatewaysProtocolError() throws Exception {
        byte[][] malformed = {
            {'C', 0, 0, 0, 4}, // a Close with no body, the last bytes the client sends
            {'P', 0, 0, 0, 8, 's', 0, 'S', 'E'}, // an unterminated query string
            {'B', 0, 0, 0, 16, 0, 0, 0, 0, 0, 1, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0}, // a 2 GB value
            {'D', 0, 0, 0, 6, 'X', 0}, // no such Describe subtype
            {'S', 0, 0, 0, 5, 0}, // a byte left over
            {'z', 0, 0, 0, 4}, // no such message type
        };
        try (Connection bystander = TestPostgres.connect(GW.endpoint())) {
            for (byte[] message : malformed) {
                String reply = new String(afterReady(GW.endpoint(), message), StandardCharsets.ISO_8859_1);
                assertTrue("the gateway's own FATAL 08P01 for " + java.util.Arrays.toString(message) + ": " + reply,
                    reply.contains("SFATAL") && reply.contains("C08P01") && reply.contains("M[multimaster] gateway: "));
            }
            assertEquals("the session opened before still answers", 1, selectOne(bystander));
        }
    }

    /** Starts a session, waits for its first ReadyForQuery, sends {@code message}; what came after, up to the close. */
    private static byte[] afterReady(Endpoint at, byte[] message) throws IOException {
        try (Socket s = new Socket(at.host(), at.port())) {
            s.setSoTimeout(CLOSE_BOUND_MS);
            s.getOutputStream().write(startup());
            InputStream in = s.getInputStream();
            java.io.DataInputStream d = new java.io.DataInputStream(in);
            for (int type = 0; type != 'Z'; ) {
                type = d.readUnsignedByte();
                d.readNBytes(d.readInt() - 4);
            }
            s.getOutputStream().write(message);
            s.getOutputStream().flush();
            try {
                return in.readAllBytes();
            } catch (SocketTimeoutException e) {
                throw new AssertionError("not closed within " + CLOSE_BOUND_MS + " ms after " + java.util.Arrays.toString(message), e);
            }
        }
    }

    private static byte[] exchange(Endpoint at, byte[] first, byte[] then, int i, long seed) throws IOException {
        long start = System.nanoTime();
        try (Socket s = new Socket(at.host(), at.port())) {
            s.setSoTimeout(CLOSE_BOUND_MS);
            OutputStream out = s.getOutputStream();
            try {
                out.write(first);
                out.write(then);
                out.flush();
                s.shutdownOutput();
            } catch (IOException closedAlready) {
                // the gateway may close before everything is written
            }
            InputStream in = s.getInputStream();
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    reply.write(buf, 0, n);
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("bad connection #" + i + " (seed " + seed + ") not closed within "
                    + CLOSE_BOUND_MS + " ms", e);
            } catch (IOException reset) {
                // a reset is a close too
            }
            assertTrue("closed within the bound", (System.nanoTime() - start) / 1_000_000 < CLOSE_BOUND_MS);
            return reply.toByteArray();
        }
    }

    /** Memory held by Netty's default pooled allocator (the gateway's buffers; the test's JDBC uses none). */
    private static long bufferMemory() {
        io.netty.buffer.PooledByteBufAllocatorMetric m = io.netty.buffer.PooledByteBufAllocator.DEFAULT.metric();
        return m.usedDirectMemory() + m.usedHeapMemory();
    }

    private static boolean containsError(byte[] reply) {
        return new String(reply, StandardCharsets.ISO_8859_1).contains("C08P01")
            || new String(reply, StandardCharsets.ISO_8859_1).contains("SFATAL");
    }

    private static int selectOne(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static byte[] startup() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(body);
        d.writeInt(196608);
        for (String s : new String[] {"user", TestPostgres.USER, "database", TestPostgres.DATABASE}) {
            d.write(s.getBytes(StandardCharsets.UTF_8));
            d.write(0);
        }
        d.write(0);
        return withLength(body.toByteArray());
    }

    private static byte[] sslRequest() {
        return new byte[] {0, 0, 0, 8, 0x04, (byte) 0xD2, 0x16, 0x2F};
    }

    private static byte[] cancelRequest() {
        return new byte[] {0, 0, 0, 16, 0x04, (byte) 0xD2, 0x16, 0x2E, 0, 0, 0, 1, 0, 0, 0, 2};
    }

    private static byte[] query(String sql) {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        return java.nio.ByteBuffer.allocate(1 + 4 + text.length + 1).put((byte) 'Q').putInt(4 + text.length + 1)
            .put(text).put((byte) 0).array();
    }

    private static byte[] withLength(byte[] body) {
        return java.nio.ByteBuffer.allocate(4 + body.length).putInt(4 + body.length).put(body).array();
    }
}
