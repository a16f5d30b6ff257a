package org.mtm.transport.internal;

import static org.junit.Assert.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.Channels;
import org.mtm.api.Endpoint;
import org.mtm.testing.Await;
import org.mtm.testing.Fuzz;

/**
 * Bad input on a live transport port (issue 14), a black-box run against a real {@link PeerNetwork} that is linked
 * to a peer and receiving its messages: connections that send random bytes, mutated handshake frames, a valid HELLO
 * followed by garbage, or a HELLO and a wrong proof. Each must be closed by the node within a bound, nothing from
 * them may be delivered, and the link with the real peer must keep delivering throughout.
 */
public class TransportBadInputTest {
    private static final String SECRET = "bad-input-secret";
    /** A short handshake bound (connect_timeout): connections that stall mid-handshake are closed by it. */
    private static final TransportTimings STEADY = new TransportTimings(100, 3000, 500);
    private static final int CLOSE_BOUND_MS = 10_000;

    private final List<AutoCloseable> open = new ArrayList<>();

    @After
    public void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private static byte[] encode(Frame f) {
        ByteBuf buf = Unpooled.buffer();
        FrameCodec.encode(f, buf);
        byte[] b = new byte[buf.readableBytes()];
        buf.readBytes(b);
        return b;
    }

    @Test
    public void everyBadConnectionIsClosedAndTheRealLinkKeepsDelivering() throws Exception {
        TestNode one = new TestNode(1, SECRET, STEADY, 0);
        open.add(one);
        TestNode two = new TestNode(2, SECRET, STEADY, 0);
        open.add(two);
        // node 3 is configured but absent: the bad connections claim to be it
        Map<Integer, Endpoint> cluster = Map.of(1, one.endpoint, 2, two.endpoint, 3, new Endpoint("127.0.0.1", 1));
        one.join(cluster);
        two.join(cluster);
        Await.until(CLOSE_BOUND_MS, "nodes 1 and 2 linked both ways",
            () -> one.network.linkedPeers().contains(2) && two.network.linkedPeers().contains(1));

        List<byte[]> handshake = List.of(
            encode(new Frame.Hello(FrameCodec.PROTOCOL_VERSION, 3, 2, ClusterSecret.newNonce())),
            encode(new Frame.Proof(new byte[FrameCodec.MAC_LENGTH])),
            encode(new Frame.Message(Channels.COMMIT, new byte[] {1, 2, 3})),
            encode(new Frame.Refused("no")));
        byte[] hello = handshake.get(0);
        Fuzz fuzz = Fuzz.of("TransportBadInputTest", 300);
        Random r = fuzz.random();
        int sent = 0;
        for (int i = 0; i < fuzz.inputs; i++) {
            byte[] bytes;
            switch (r.nextInt(4)) {
                case 0 -> bytes = fuzz.next(handshake);
                case 1 -> bytes = concat(hello, fuzz.next(handshake)); // a valid HELLO, then garbage
                case 2 -> bytes = concat(hello, handshake.get(1)); // a HELLO and a wrong proof
                default -> {
                    bytes = new byte[r.nextInt(200)];
                    r.nextBytes(bytes);
                }
            }
            // most end their side (EOF); one in ten stays open, for the node's handshake bound to close
            exchange(two.endpoint, bytes, r.nextInt(10) != 0, i, fuzz.seed);
            if (i % 50 == 0) {
                byte[] payload = {(byte) sent++};
                assertTrue(one.network.send(2, Channels.COMMIT, payload));
                int expected = sent;
                Await.until(CLOSE_BOUND_MS, "node 2 still receives node 1's messages (input #" + i + ")",
                    () -> two.from(1, Channels.COMMIT).size() == expected);
            }
        }
        assertTrue("the real link stayed up", two.network.linkedPeers().contains(1));
        synchronized (two.received) {
            assertTrue("nothing delivered but node 1's: " + two.received.size(),
                two.received.stream().allMatch(m -> m.from() == 1));
        }
        System.out.println("[fuzz] TransportBadInputTest: " + fuzz.inputs + " bad connections closed, "
            + two.refusals.size() + " refusals reported");
        assertTrue("refusals were reported", two.refusals.size() > 0);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Sends the bytes and waits for the node to close the connection; fails when it does not within the bound. */
    private static void exchange(Endpoint at, byte[] bytes, boolean endOutput, int i, long seed) throws IOException {
        long start = System.nanoTime();
        try (Socket s = new Socket(at.host(), at.port())) {
            s.setSoTimeout(CLOSE_BOUND_MS);
            OutputStream out = s.getOutputStream();
            try {
                out.write(bytes);
                out.flush();
                if (endOutput) {
                    s.shutdownOutput();
                }
            } catch (IOException closedAlready) {
                // the node may close before everything is written
            }
            InputStream in = s.getInputStream();
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    reply.write(buf, 0, n);
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("bad connection #" + i + " (seed " + seed + ", " + HexFormat.of().formatHex(bytes)
                    + ") not closed within " + CLOSE_BOUND_MS + " ms", e);
            } catch (IOException reset) {
                // a reset is a close too
            }
            assertTrue("closed within the bound", (System.nanoTime() - start) / 1_000_000 < CLOSE_BOUND_MS);
        }
    }
}
