package org.mtm.testing;

import java.util.List;
import java.util.Random;

/**
 * Seeded, reproducible malformed input for the parsers' fuzz tests (issue 14): mutations of valid inputs (bit flips,
 * overwritten, inserted and deleted bytes, truncation, splices, absurd 32-bit lengths) and plain random bytes.
 * {@code -Dmtm.fuzz.seed=S} replays a run (each test prints its seed); {@code -Dmtm.fuzz.inputs=N} changes how many
 * inputs a test sends (default {@code defaultInputs}).
 */
public final class Fuzz {
    public final long seed;
    public final int inputs;
    private final Random random;

    private Fuzz(long seed, int inputs) {
        this.seed = seed;
        this.inputs = inputs;
        this.random = new Random(seed);
    }

    /** A fuzzer for {@code test}, seeded from {@code mtm.fuzz.seed} or the clock; prints the seed to replay it. */
    public static Fuzz of(String test, int defaultInputs) {
        String s = System.getProperty("mtm.fuzz.seed", "").trim();
        long seed = s.isEmpty() ? System.nanoTime() : Long.parseLong(s);
        int inputs = Integer.getInteger("mtm.fuzz.inputs", defaultInputs);
        System.out.println("[fuzz] " + test + ": " + inputs + " inputs, seed " + seed + " (replay: -Dmtm.fuzz.seed=" + seed + ")");
        return new Fuzz(seed, inputs);
    }

    public Random random() {
        return random;
    }

    /** One malformed input: usually a mutation of one of {@code valid}, sometimes random bytes. */
    public byte[] next(List<byte[]> valid) {
        if (valid.isEmpty() || random.nextInt(10) == 0) {
            byte[] b = new byte[random.nextInt(64)];
            random.nextBytes(b);
            return b;
        }
        byte[] b = valid.get(random.nextInt(valid.size())).clone();
        int mutations = 1 + random.nextInt(3);
        for (int i = 0; i < mutations; i++) {
            b = mutate(b, valid);
        }
        return b;
    }

    private byte[] mutate(byte[] b, List<byte[]> valid) {
        int n = b.length;
        switch (random.nextInt(7)) {
            case 0: // flip a bit
                if (n > 0) {
                    b[random.nextInt(n)] ^= (byte) (1 << random.nextInt(8));
                }
                return b;
            case 1: // overwrite a byte with an edge value
                if (n > 0) {
                    b[random.nextInt(n)] = (byte) new int[] {0, 0xFF, 0x7F, 0x80, 1}[random.nextInt(5)];
                }
                return b;
            case 2: { // insert bytes
                int at = random.nextInt(n + 1);
                byte[] extra = new byte[1 + random.nextInt(8)];
                random.nextBytes(extra);
                return splice(b, at, at, extra);
            }
            case 3: { // delete bytes
                if (n == 0) {
                    return b;
                }
                int at = random.nextInt(n);
                return splice(b, at, Math.min(n, at + 1 + random.nextInt(8)), new byte[0]);
            }
            case 4: // truncate
                return java.util.Arrays.copyOf(b, n == 0 ? 0 : random.nextInt(n));
            case 5: { // an absurd 32-bit length or count somewhere
                if (n < 4) {
                    return b;
                }
                int at = random.nextInt(n - 3);
                int v = new int[] {-1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0x7FFFFFF0, 65536 * 1024}[random.nextInt(5)];
                b[at] = (byte) (v >>> 24);
                b[at + 1] = (byte) (v >>> 16);
                b[at + 2] = (byte) (v >>> 8);
                b[at + 3] = (byte) v;
                return b;
            }
            default: { // the head of this input, the tail of another
                byte[] other = valid.get(random.nextInt(valid.size()));
                int cut = random.nextInt(n + 1);
                int from = random.nextInt(other.length + 1);
                return splice(java.util.Arrays.copyOf(b, cut), cut, cut, java.util.Arrays.copyOfRange(other, from, other.length));
            }
        }
    }

    private static byte[] splice(byte[] b, int from, int to, byte[] insert) {
        byte[] out = new byte[b.length - (to - from) + insert.length];
        System.arraycopy(b, 0, out, 0, from);
        System.arraycopy(insert, 0, out, from, insert.length);
        System.arraycopy(b, to, out, from + insert.length, b.length - to);
        return out;
    }
}
