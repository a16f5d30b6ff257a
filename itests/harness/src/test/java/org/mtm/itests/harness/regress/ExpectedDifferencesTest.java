package org.mtm.itests.harness.regress;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;

import org.junit.Test;

/** The list of expected differences: read, checked against a run, and the README's table made from it. */
public class ExpectedDifferencesTest {
    private static final String CAUSES = "# key\tkind\treason\n"
        + "cic\trefusal\tCREATE INDEX CONCURRENTLY is refused (manual)\n"
        + "strided\tby-design\tnode-strided sequences\n"
        + "knock-on\tknock-on\tfollows from an earlier listed statement of the file\n";

    private static FileComparison file(String name, int... differingLines) {
        List<FileComparison.StatementDifference> d = java.util.Arrays.stream(differingLines)
            .mapToObj(l -> new FileComparison.StatementDifference(l, "x;\n", "a\n", "b\n")).toList();
        return new FileComparison(name, d.isEmpty(), d, 1, 1, "");
    }

    @Test
    public void aRunIsCheckedAgainstTheList() {
        ExpectedDifferences list = ExpectedDifferences.parse(CAUSES, "create_index\t10\tcic\ncreate_index\t12\tknock-on\nsequence\t5\tstrided\n");
        assertEquals("cic", list.causeOf("create_index", 10));
        assertEquals(null, list.causeOf("create_index", 11));
        assertTrue(list.check(List.of(file("create_index", 10, 12), file("sequence", 5), file("int4"))).holds());
        // a file the run did not take: its entries are not stale
        assertTrue(list.check(List.of(file("create_index", 10, 12))).holds());
        ExpectedDifferences.Check check = list.check(List.of(file("create_index", 10, 13), file("sequence"), file("int4", 7)));
        assertFalse(check.holds());
        assertEquals(List.of("create_index.sql line 13", "int4.sql line 7"), check.unexpected());
        assertEquals(List.of("create_index.sql line 12 (knock-on)", "sequence.sql line 5 (strided)"), check.stale());
    }

    @Test
    public void inVolkswagenModeStridedStatementsAndTheirOwnKnockOnsAnswerAsOnPostgres() {
        // mtm.volkswagen_mode = on: no node stride, so the strided statements, and the knock-ons after only strided ones,
        // answer as on PostgreSQL; a knock-on after another cause stays
        ExpectedDifferences list = ExpectedDifferences.parse(CAUSES, "sequence\t5\tstrided\nsequence\t7\tknock-on\n"
            + "copy2\t3\tstrided\ncopy2\t4\tcic\ncopy2\t9\tknock-on\ncreate_index\t10\tcic\n");
        ExpectedDifferences vw = list.inVolkswagenMode();
        assertEquals(3, vw.size());
        assertEquals(null, vw.causeOf("sequence", 5));
        assertEquals(null, vw.causeOf("sequence", 7));
        assertEquals(null, vw.causeOf("copy2", 3));
        assertEquals("knock-on", vw.causeOf("copy2", 9));
        assertTrue(vw.check(List.of(file("sequence"), file("copy2", 4, 9), file("create_index", 10))).holds());
        ExpectedDifferences.Check check = vw.check(List.of(file("sequence", 5), file("copy2", 3, 4, 9)));
        assertEquals("a strided statement that still differs is not listed", List.of("sequence.sql line 5", "copy2.sql line 3"),
            check.unexpected());
        // what the stride hid: listed strided (or its knock-on) by default, another cause once not strided
        ExpectedDifferences hidden = list.inVolkswagenMode("sequence\t5\tcic\nsequence\t7\tknock-on\n");
        assertEquals("cic", hidden.causeOf("sequence", 5));
        assertEquals("knock-on", hidden.causeOf("sequence", 7));
        assertEquals(5, hidden.size());
        assertThrows("listed with another cause in both modes", IllegalArgumentException.class,
            () -> list.inVolkswagenMode("copy2\t4\tcic\n"));
        assertEquals("not listed: hidden by the stride without differing", "cic", list.inVolkswagenMode("int4\t1\tcic\n").causeOf("int4", 1));
        assertThrows("strided is no cause there", IllegalArgumentException.class, () -> list.inVolkswagenMode("sequence\t5\tstrided\n"));
        assertThrows("a knock-on alone", IllegalArgumentException.class, () -> list.inVolkswagenMode("sequence\t7\tknock-on\n"));
        // the default list is unchanged
        assertEquals(6, list.size());
        assertTrue(list.check(List.of(file("sequence", 5, 7), file("copy2", 3, 4, 9))).holds());
    }

    @Test
    public void theListIsRefusedWhenItCannotBeRight() {
        assertThrows(IllegalArgumentException.class, () -> ExpectedDifferences.parse(CAUSES, "x\t1\tnosuchcause\n"));
        assertThrows(IllegalArgumentException.class, () -> ExpectedDifferences.parse(CAUSES, "x\t1\tcic\nx\t1\tstrided\n"));
        assertThrows(IllegalArgumentException.class, () -> ExpectedDifferences.parse(CAUSES + "y\tmaybe\twhy\n", ""));
        // a knock-on needs an earlier statement of another cause in its file
        assertThrows(IllegalArgumentException.class, () -> ExpectedDifferences.parse(CAUSES, "x\t1\tknock-on\nx\t2\tcic\n"));
        assertThrows(IllegalArgumentException.class, () -> ExpectedDifferences.parse(CAUSES, "x\t3\tcic\ny\t4\tknock-on\n"));
    }

    @Test
    public void theReadmeTableCountsByCause() {
        ExpectedDifferences list = ExpectedDifferences.parse(CAUSES,
            "create_index\t10\tcic\ncreate_index\t12\tknock-on\nindexing\t3\tcic\nsequence\t5\tstrided\n");
        assertEquals("| statements | kind | cause | reason | files |\n|---:|---|---|---|---|\n"
            + "| 2 | refusal | `cic` | CREATE INDEX CONCURRENTLY is refused (manual) | `create_index` 1, `indexing` 1 |\n"
            + "| 1 | by-design | `strided` | node-strided sequences | `sequence` 1 |\n"
            + "| 1 | knock-on | `knock-on` | follows from an earlier listed statement of the file | `create_index` 1 |\n"
            + "| **4** | | | in 3 files | |\n", list.readmeTable());
    }
}
