package org.mtm.itests.harness.regress;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.Test;

/** Cutting psql -a output at the script's echoed lines, and comparing two runs statement by statement. */
public class PsqlTranscriptTest {
    private static final String SCRIPT = String.join("\n",
        "-- a comment",
        "CREATE TABLE t (a int);",
        "COPY t FROM stdin;",
        "1",
        "2",
        "\\.",
        "SELECT a",
        "  FROM t ORDER BY a;",
        "SELECT 1/0;") + "\n";

    /** psql -a -q on PostgreSQL: every line echoed but the COPY data, answers after the line that ends a statement. */
    private static final String STANDALONE = String.join("\n",
        "-- a comment",
        "CREATE TABLE t (a int);",
        "COPY t FROM stdin;",
        "SELECT a",
        "  FROM t ORDER BY a;",
        " a ",
        "---",
        " 1",
        " 2",
        "(2 rows)",
        "",
        "SELECT 1/0;",
        "ERROR:  division by zero") + "\n";

    private static String echoes(List<String> lines) {
        StringBuilder out = new StringBuilder();
        for (PsqlTranscript.Echo e : PsqlTranscript.echoOf(lines)) {
            out.append(e.name().charAt(0));
        }
        return out.toString();
    }

    @Test
    public void whichLinesPsqlEchoes() {
        // COPY data lines may be echoed (when the server refused the COPY before it started)
        assertEquals("AAAMMMAAA", echoes(SCRIPT.lines().toList()));
        // two copies in one line, each with its data; \copy from stdin; COPY FROM STDOUT; "-- fail" after the semicolon
        assertEquals("AMMMMAAMMAMMA", echoes(List.of("select 0\\; copy a from stdin\\; copy a from stdin\\; select 1; -- 0 1", "x",
            "\\.", "y", "\\.", "SELECT 2;", "\\copy a from stdin", "z", "\\.", "COPY a FROM stdout; -- fail", "w", "\\.", "SELECT 3;")));
        // no "\." after a COPY: nothing taken for data
        assertEquals("AA", echoes(List.of("copy (select 1) from stdin;", "SELECT 1;")));
        // psql drops empty lines before echoing them; a line of blanks is echoed; nothing while ECHO is not all
        assertEquals("ANAANNNA", echoes(List.of("SELECT 1;", "", " ", "\\set ECHO none", "SELECT 2;", "\\set ECHO all", "", "SELECT 3;")));
    }

    @Test
    public void dataLinesOfACopyRefusedBeforeItStartedAreEchoed() {
        String script = "COPY t FROM stdin;\n1\n\\.\nSELECT 1;\n";
        PsqlTranscript refused = PsqlTranscript.of(script, "COPY t FROM stdin;\nERROR:  no t\n1\nERROR:  syntax error\n\\.\nSELECT 1;\n x\n");
        assertEquals("ERROR:  no t\n", refused.answer(1));
        assertEquals("ERROR:  syntax error\n", refused.answer(2));
        assertEquals(" x\n", refused.answer(4));
        PsqlTranscript copied = PsqlTranscript.of(script, "COPY t FROM stdin;\nSELECT 1;\n x\n");
        assertEquals(" x\n", copied.answer(4));
        assertEquals(copied.expectedEchoes(), copied.echoed());
    }

    @Test
    public void anEchoGluedToOutputWithoutNewline() {
        PsqlTranscript t = PsqlTranscript.of("\\echo -n one\n\\echo two\n", "\\echo -n one\none\\echo two\ntwo\n");
        assertEquals("one\n", t.answer(1));
        assertEquals("two\n", t.answer(2));
    }

    @Test
    public void answersBelongToTheLineThatEndedTheirStatement() {
        PsqlTranscript t = PsqlTranscript.of(SCRIPT, STANDALONE);
        assertEquals(t.expectedEchoes(), t.echoed());
        assertEquals("", t.answer(0));
        assertEquals("", t.answer(2));
        assertEquals(" a \n---\n 1\n 2\n(2 rows)\n\n", t.answer(8));
        assertEquals("ERROR:  division by zero\n", t.answer(9));
    }

    @Test
    public void identicalOutputsAreIdentical() {
        FileComparison same = FileComparison.of("t", SCRIPT, STANDALONE, STANDALONE, "");
        assertTrue(same.identical());
        assertTrue(same.differences().isEmpty());
    }

    @Test
    public void aRefusedStatementIsOneDifferenceWithItsTextAndDiff() {
        String cluster = STANDALONE.replace("CREATE TABLE t (a int);\n",
            "CREATE TABLE t (a int);\nERROR:  0A000 not supported by the cluster\n");
        FileComparison compared = FileComparison.of("t", SCRIPT, STANDALONE, cluster, "");
        assertFalse(compared.identical());
        assertEquals(1, compared.differences().size());
        FileComparison.StatementDifference d = compared.differences().get(0);
        assertEquals(2, d.line());
        assertEquals("CREATE TABLE t (a int);\n", d.statement());
        assertEquals("+ERROR:  0A000 not supported by the cluster\n", d.diff());
    }

    @Test
    public void theStatementOfADifferenceStartsAfterThePreviousAnswer() {
        String cluster = STANDALONE.replace(" 2\n(2 rows)", " 3\n(2 rows)");
        FileComparison compared = FileComparison.of("t", SCRIPT, STANDALONE, cluster, "");
        assertEquals(1, compared.differences().size());
        assertEquals(8, compared.differences().get(0).line());
        // lines 1..8 had no answer before: the statement shown runs from the first non-comment line
        assertEquals("CREATE TABLE t (a int);\nCOPY t FROM stdin;\n1\n2\n\\.\nSELECT a\n  FROM t ORDER BY a;\n",
            compared.differences().get(0).statement());
        assertEquals("  a \n ---\n  1\n- 2\n+ 3\n (2 rows)\n \n", compared.differences().get(0).diff());
    }

    @Test
    public void lineDiffMarksOnlyWhatDiffers() {
        assertEquals(" a\n-b\n+c\n d\n", LineDiff.render(List.of("a", "b", "d"), List.of("a", "c", "d")));
        assertEquals("+x\n", LineDiff.render(List.of(), List.of("x")));
    }

    @Test
    public void scheduleInOrderMinusExclusions() {
        RegressSchedule schedule = RegressSchedule.parse("# c\ntest: test_setup\ntest: a b c\nignore: b\n\ntest: d b\n");
        assertEquals(List.of("test_setup", "a", "b", "c", "d"), schedule.tests());
        assertEquals(List.of("b"), schedule.ignored());
        assertEquals(List.of("test_setup", "a", "d"), schedule.select("all", Map.of("b", "why", "c", "why")));
        assertEquals(List.of("a", "d"), schedule.select("d, a,b", Map.of("b", "why")));
        assertEquals(Map.of("b", "why"), schedule.excludedOf("d,a,b", Map.of("b", "why")));
    }
}
