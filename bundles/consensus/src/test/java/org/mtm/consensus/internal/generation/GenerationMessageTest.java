package org.mtm.consensus.internal.generation;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.Test;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;

public class GenerationMessageTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);

    private static List<GenerationMessage> samples() {
        return List.of(
            new ElectionRequest(2, 7, NodeSet.of(1, 2), ALL),
            new ElectionAnswer(3, 7, true, 5, 4, 7, ""),
            new ElectionAnswer(64, Long.MAX_VALUE, false, 9, 8, 9, "voter already voted for gen 9 — ünïcode"),
            new GenerationAnnounce(new Generation(7, NodeSet.of(1, 2), ALL), NodeSet.of(2)));
    }

    @Test
    public void roundTrips() {
        for (GenerationMessage m : samples()) {
            assertEquals(m, GenerationMessage.decode(m.encode()));
        }
    }

    @Test
    public void longRefusalIsCutOnACharacterBoundary() {
        String text = "é".repeat(GenerationMessage.MAX_REFUSAL_BYTES);
        ElectionAnswer a = (ElectionAnswer) GenerationMessage.decode(new ElectionAnswer(1, 2, false, 1, 1, 2, text).encode());
        assertEquals("é".repeat(GenerationMessage.MAX_REFUSAL_BYTES / 2), a.refusal());
    }

    @Test
    public void rejectsWhatItDidNotWrite() {
        byte[] request = samples().get(0).encode();
        expectRejected(new byte[0], "too short");
        expectRejected(new byte[] {9, 1}, "version 9");
        expectRejected(new byte[] {1, 42}, "kind 42");
        expectRejected(Arrays.copyOf(request, request.length - 1), "truncated");
        expectRejected(Arrays.copyOf(request, request.length + 1), "trailing");
        byte[] answer = samples().get(1).encode();
        answer[2 + 4 + 8] = 2;
        expectRejected(answer, "flag");
        byte[] refusal = new ElectionAnswer(1, 2, false, 1, 1, 2, "ab").encode();
        refusal[refusal.length - 1] = (byte) 0xFF;
        expectRejected(refusal, "UTF-8");
        byte[] lying = new ElectionAnswer(1, 2, false, 1, 1, 2, "ab").encode();
        lying[lying.length - 3] = 100; // length prefix larger than what follows
        expectRejected(lying, "refusal text length");
        byte[] announce = samples().get(3).encode();
        announce[2 + 8 + 8 + 8 - 1] = 0; // configured {} does not hold the members
        expectRejected(announce, "not all configured");
    }

    /** Random damage never escapes as anything but IllegalArgumentException, and what decodes re-encodes alike. */
    @Test
    public void fuzz() {
        Random random = new Random(0x6E4F);
        int decoded = 0;
        for (int i = 0; i < 200_000; i++) {
            byte[] bytes;
            if (i % 3 == 0) {
                bytes = new byte[random.nextInt(60)];
                random.nextBytes(bytes);
                if (bytes.length > 1) {
                    bytes[0] = GenerationMessage.VERSION;
                    bytes[1] = (byte) (1 + random.nextInt(3));
                }
            } else {
                byte[] good = samples().get(random.nextInt(samples().size())).encode();
                bytes = i % 3 == 1 ? Arrays.copyOf(good, random.nextInt(good.length + 2)) : good.clone();
                for (int flips = random.nextInt(3) + 1; flips > 0 && bytes.length > 0; flips--) {
                    bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            try {
                GenerationMessage m = GenerationMessage.decode(bytes);
                assertArrayEquals(bytes, m.encode());
                decoded++;
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage() != null && !e.getMessage().isEmpty());
            }
        }
        assertTrue("some damaged messages are still valid ones: " + decoded, decoded > 0);
    }

    private static void expectRejected(byte[] bytes, String because) {
        try {
            GenerationMessage.decode(bytes);
            fail("decoded " + Arrays.toString(bytes));
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage() + " should say " + because, e.getMessage().contains(because));
        }
    }
}
