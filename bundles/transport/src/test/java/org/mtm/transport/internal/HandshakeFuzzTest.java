package org.mtm.transport.internal;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.Random;
import java.util.Set;
import org.junit.Test;
import org.mtm.testing.Fuzz;

/**
 * The handshake state machines fed random frame sequences (issue 14): HELLO, CHALLENGE, PROOF, WELCOME, REFUSED
 * and messages in any order, with random and edge versions, node ids, nonces and MACs — and, one time in four, the
 * honest peer's frames with one of them altered. No exception; the server accepts only a client that proved the
 * secret and the client links only to a server that did, so a sequence that altered anything is never accepted.
 */
public class HandshakeFuzzTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("fuzzed secret");
    private static final int[] EDGE = {0, 1, 2, 3, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, FrameCodec.PROTOCOL_VERSION};

    private static int pick(Random r) {
        return r.nextBoolean() ? EDGE[r.nextInt(EDGE.length)] : r.nextInt();
    }

    private static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static Frame randomFrame(Random r) {
        return switch (r.nextInt(6)) {
            case 0 -> new Frame.Hello(r.nextBoolean() ? FrameCodec.PROTOCOL_VERSION : pick(r),
                r.nextBoolean() ? 1 + r.nextInt(3) : pick(r), r.nextBoolean() ? 1 : pick(r), bytes(r, FrameCodec.NONCE_LENGTH));
            case 1 -> new Frame.Challenge(r.nextBoolean() ? FrameCodec.PROTOCOL_VERSION : pick(r), bytes(r, FrameCodec.NONCE_LENGTH));
            case 2 -> new Frame.Proof(bytes(r, FrameCodec.MAC_LENGTH));
            case 3 -> new Frame.Welcome(bytes(r, FrameCodec.MAC_LENGTH));
            case 4 -> new Frame.Refused("x".repeat(r.nextInt(40)));
            default -> new Frame.Message(pick(r), bytes(r, r.nextInt(16)));
        };
    }

    @Test
    public void randomAndAlteredHandshakesAreNeverAccepted() {
        Fuzz fuzz = Fuzz.of("HandshakeFuzzTest", 20_000);
        Random r = fuzz.random();
        int honest = 0;
        for (int i = 0; i < fuzz.inputs; i++) {
            try {
                if (r.nextInt(4) == 0) {
                    honest += alteredExchange(r) ? 1 : 0;
                } else {
                    ServerHandshake server = new ServerHandshake(SECRET, 1, Set.of(1, 2, 3)::contains,
                        ClusterSecret.newNonce());
                    ClientHandshake client = new ClientHandshake(SECRET, 2, 1, ClusterSecret.newNonce());
                    for (int k = 1 + r.nextInt(5); k > 0; k--) {
                        ServerHandshake.Step s = server.onFrame(randomFrame(r));
                        assertNotNull(s.reply());
                        assertFalse("a server accepts no random proof", s.accepted());
                        ClientHandshake.Step c = client.onFrame(randomFrame(r));
                        assertFalse("a client links to no random welcome", c.linked());
                    }
                }
            } catch (RuntimeException | AssertionError e) {
                throw new AssertionError("sequence #" + i + " (seed " + fuzz.seed + "): " + e, e);
            }
        }
        System.out.println("[fuzz] HandshakeFuzzTest: " + fuzz.inputs + " sequences, " + honest + " honest exchanges linked");
    }

    /** An honest exchange with, most times, one frame altered on the way; whether it linked (only if unaltered). */
    private static boolean alteredExchange(Random r) {
        ServerHandshake server = new ServerHandshake(SECRET, 1, Set.of(1, 2, 3)::contains, ClusterSecret.newNonce());
        ClientHandshake client = new ClientHandshake(SECRET, 2, 1, ClusterSecret.newNonce());
        int alter = r.nextInt(4); // 0 HELLO, 1 CHALLENGE, 2 PROOF, 3 WELCOME
        boolean altered = r.nextInt(5) != 0;
        Frame hello = client.hello();
        ServerHandshake.Step challenge = server.onFrame(altered && alter == 0 ? alter(hello, r) : hello);
        if (challenge.refused()) {
            assertTrue("only an altered HELLO is refused", altered && alter == 0);
            return false;
        }
        ClientHandshake.Step proof = client.onFrame(altered && alter == 1 ? alter(challenge.reply(), r) : challenge.reply());
        if (proof.reply() == null) {
            assertTrue("only an altered CHALLENGE fails", altered && alter == 1);
            return false;
        }
        ServerHandshake.Step welcome = server.onFrame(altered && alter == 2 ? alter(proof.reply(), r) : proof.reply());
        if (!welcome.accepted()) {
            assertTrue("only an altered exchange is refused", altered && alter <= 2);
            return false;
        }
        ClientHandshake.Step linked = client.onFrame(altered && alter == 3 ? alter(welcome.reply(), r) : welcome.reply());
        assertTrue("linked exactly when nothing was altered (alter " + alter + ", altered " + altered + ")",
            linked.linked() == !altered);
        return linked.linked();
    }

    /** The frame with one field changed: a flipped bit in a nonce or MAC, or another version or node id. */
    private static Frame alter(Frame f, Random r) {
        if (f instanceof Frame.Hello h) {
            byte[] nonce = h.clientNonce().clone();
            return switch (r.nextInt(3)) {
                case 0 -> new Frame.Hello(h.version() + 1, h.clientId(), h.serverId(), nonce);
                case 1 -> new Frame.Hello(h.version(), h.clientId() == 2 ? 3 : 2, h.serverId(), nonce);
                default -> new Frame.Hello(h.version(), h.clientId(), h.serverId() + 1, nonce);
            };
        }
        if (f instanceof Frame.Challenge c) {
            return new Frame.Challenge(c.version() + 1, c.serverNonce());
        }
        if (f instanceof Frame.Proof p) {
            return new Frame.Proof(flip(p.mac(), r));
        }
        if (f instanceof Frame.Welcome w) {
            return new Frame.Welcome(flip(w.mac(), r));
        }
        throw new AssertionError(f);
    }

    private static byte[] flip(byte[] b, Random r) {
        byte[] out = b.clone();
        out[r.nextInt(out.length)] ^= (byte) (1 << r.nextInt(8));
        return out;
    }
}
