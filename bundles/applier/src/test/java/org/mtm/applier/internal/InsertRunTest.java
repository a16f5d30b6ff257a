package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** COPY's text format of the applier's insert runs, and when a run goes as COPY. */
public class InsertRunTest {

    private static String line(String... values) {
        StringBuilder out = new StringBuilder();
        InsertRun.appendRow(out, values);
        return out.toString();
    }

    @Test
    public void valuesAreEscapedAsCopyTextReadsThem() {
        assertEquals("1\tplain\n", line("1", "plain"));
        assertEquals("\\N\t\n", line(null, ""));
        assertEquals("a\\tb\\nc\\rd\\\\e\n", line("a\tb\nc\rd\\e"));
        assertEquals("a literal \\\\N is no NULL", "\\\\N\n", line("\\N"));
        assertEquals("an end marker inside a value stays data", "\\\\.\\n\\\\.\n", line("\\.\n\\."));
        assertEquals("ünï ✓ 𝄞\n", line("ünï ✓ 𝄞"));
    }

    @Test
    public void aRunGoesAsCopyFromItsThresholdAndIsFullAtItsBounds() {
        InsertRun run = new InsertRun(null);
        for (int i = 1; i < InsertRun.COPY_FROM_ROWS; i++) {
            run.add(new String[] {"x"});
        }
        assertFalse(run.byCopy());
        run.add(new String[] {null});
        assertTrue(run.byCopy());
        assertFalse(run.full());
        InsertRun wide = new InsertRun(null);
        wide.add(new String[] {"y".repeat(InsertRun.MAX_CHARS)});
        assertTrue("a few very wide rows fill a run too", wide.full());
        assertEquals(("y".repeat(InsertRun.MAX_CHARS) + "\n").length(), wide.copyData().length);
    }
}
