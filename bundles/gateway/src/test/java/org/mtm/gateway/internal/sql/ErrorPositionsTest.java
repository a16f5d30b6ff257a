package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import org.junit.Test;

/**
 * Issue 8 part 5: PostgreSQL's error cursor in a statement the gateway rewrote (stand-ins of temporary tables,
 * pg_temp names qualified) is taken back to the same place in the client's text, in characters.
 */
public class ErrorPositionsTest {
    private static final String SCHEMA = "mtm_temp_4242_9abcdef0";

    /** The client's text as the gateway sees it: one char a byte (UTF-8 bytes as Latin-1). */
    private static String latin1(String utf8) {
        return new String(utf8.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    /** 1-based character position of {@code needle} in {@code text}, as PostgreSQL reports it (code points). */
    private static int position(String text, String needle) {
        return text.codePointCount(0, text.indexOf(needle)) + 1;
    }

    /** PostgreSQL's position of {@code needle} in the rewritten (Latin-1) text, taken back, against the client's. */
    private static void assertTakenBack(String client, String rewrittenLatin1, String needle, TextEdits... chain) {
        String rewritten = new String(rewrittenLatin1.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
        int server = position(rewritten, needle);
        assertEquals(rewritten, position(client, needle), ErrorPositions.back(rewrittenLatin1, true, chain).applyAsInt(server));
    }

    @Test
    public void aTemporaryTablesRewriteKeepsItsPositions() {
        String client = "CREATE\nTEMPORARY\nTABLE\nfoo(id INT4 UNIQUE NOT NULL, id3 INTEGER NOT NUL,\nid4 INT4)";
        TempStandIns.Rewrite rw = TempStandIns.rewrite(latin1(client), true, SCHEMA);
        assertTakenBack(client, rw.text(), "NUL,", rw.edits());
        assertTakenBack(client, rw.text(), "id4", rw.edits());
        // inside the replacements: TABLE of CREATE UNLOGGED TABLE, the name after the stand-in schema
        assertTakenBack(client, rw.text(), "TABLE", rw.edits());
        assertTakenBack(client, rw.text(), "foo", rw.edits());
    }

    @Test
    public void multibyteTextAndRemovedOnCommit() {
        String client = "CREATE TEMP TABLE \"tä€\" (a text DEFAULT 'ü€😀' ON COMMIT DROP, b nosuchtype) ON COMMIT DELETE ROWS AS SELECT 'ö' AS c, zz";
        TempStandIns.Rewrite rw = TempStandIns.rewrite(latin1(client), true, SCHEMA);
        assertTakenBack(client, rw.text(), "nosuchtype", rw.edits());
        assertTakenBack(client, rw.text(), "zz", rw.edits());
        assertTakenBack(client, rw.text(), "'ö'", rw.edits());
    }

    @Test
    public void aViewMadeTemporaryThenRewritten() {
        String client = "CREATE VIEW vü AS SELECT idx, 'ä' FROM tt";
        TempStandIns.ImplicitView v = TempStandIns.implicitlyTemporary(latin1(client), true, Set.of("tt"));
        TempStandIns.Rewrite rw = TempStandIns.rewrite(v.text(), true, SCHEMA);
        assertTakenBack(client, rw.text(), "idx", v.edits(), rw.edits());
        assertTakenBack(client, rw.text(), "tt", v.edits(), rw.edits());
    }

    @Test
    public void qualifiedPgTempNames() {
        String client = "SELECT 'é', nope FROM pg_temp.tt WHERE x = nextval('pg_temp.tt') AND yy";
        TextEdits q = TempStandIns.qualifyEdits(latin1(client), true, SCHEMA, Set.of("tt"));
        assertTakenBack(client, q.apply(), "nope", q);
        assertTakenBack(client, q.apply(), "yy", q);
        assertTakenBack(client, q.apply(), "tt WHERE", q);
    }

    @Test
    public void charactersAndBytes() {
        byte[] b = "aé€😀b".getBytes(StandardCharsets.UTF_8);
        java.util.function.IntUnaryOperator at = i -> b[i];
        assertEquals(0, ErrorPositions.byteOf(at, 0, b.length, 1, true));
        assertEquals(1, ErrorPositions.byteOf(at, 0, b.length, 2, true));
        assertEquals(3, ErrorPositions.byteOf(at, 0, b.length, 3, true));
        assertEquals(6, ErrorPositions.byteOf(at, 0, b.length, 4, true));
        assertEquals(10, ErrorPositions.byteOf(at, 0, b.length, 5, true));
        assertEquals(11, ErrorPositions.byteOf(at, 0, b.length, 6, true)); // the end of input
        assertEquals(5, ErrorPositions.charsBefore(at, 0, b.length, true));
        assertEquals(4, ErrorPositions.byteOf(at, 0, b.length, 5, false)); // a single-byte client encoding
        // the end of input after a rewrite: one past the client's last character
        String client = "CREATE TEMP TABLE ü (";
        TempStandIns.Rewrite rw = TempStandIns.rewrite(latin1(client), true, SCHEMA);
        String rewritten = new String(rw.text().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
        int end = rewritten.codePointCount(0, rewritten.length()) + 1;
        assertEquals(client.codePointCount(0, client.length()) + 1, ErrorPositions.back(rw.text(), true, rw.edits()).applyAsInt(end));
    }
}
