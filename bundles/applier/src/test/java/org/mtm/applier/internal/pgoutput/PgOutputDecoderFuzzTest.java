package org.mtm.applier.internal.pgoutput;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.mtm.testing.Fuzz;

/**
 * Malformed pgoutput (issue 14): mutations of every golden message (text, binary and streaming sets) and random
 * bytes. The decoder either decodes a message or throws {@link PgOutputFormatException}; any other exception, an
 * allocation the size of a garbage length, or a hang is a defect.
 */
public class PgOutputDecoderFuzzTest {

    @Test
    public void malformedMessagesAreRefusedWithTheFormatErrorOnly() {
        List<byte[]> valid = new ArrayList<>();
        for (String set : List.of("text", "binary", "streaming")) {
            GoldenSet.load(set).entries.forEach(e -> valid.add(e.bytes()));
        }
        Fuzz fuzz = Fuzz.of("PgOutputDecoderFuzzTest", 60_000);
        PgOutputDecoder decoder = new PgOutputDecoder();
        int refused = 0;
        for (int i = 0; i < fuzz.inputs; i++) {
            byte[] input = fuzz.next(valid);
            try {
                decoder.decode(input);
            } catch (PgOutputFormatException expected) {
                refused++;
            } catch (RuntimeException | OutOfMemoryError e) {
                throw new AssertionError("input #" + i + " (seed " + fuzz.seed + ", " + input.length + " bytes): "
                    + e, e);
            }
            if (fuzz.random().nextInt(50) == 0) {
                decoder.reset(); // a new stream now and then: stream-block state must not matter
            }
        }
        System.out.println("[fuzz] PgOutputDecoderFuzzTest: " + refused + " of " + fuzz.inputs + " refused as malformed");
        assertTrue("most mutations are malformed: " + refused, refused > fuzz.inputs / 4);
        if (valid.isEmpty()) {
            fail("no golden messages loaded");
        }
    }
}
