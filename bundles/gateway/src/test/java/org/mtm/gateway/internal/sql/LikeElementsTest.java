package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.List;

import org.junit.Test;

/**
 * CREATE TABLE ... (LIKE source ...): the classifier cuts the text around each LIKE element, so that the other nodes
 * can be given a node-local source's columns in its place (mtm.like_text), and reads the options in effect.
 */
public class LikeElementsTest {
    private static LikeElements like(String sql) {
        return SqlSplitter.classifyOne(sql, true).replication().like();
    }

    /** The text put back together from the pieces and the elements: the statement as written. */
    private static String joined(LikeElements l) {
        StringBuilder b = new StringBuilder(l.between().get(0));
        for (int i = 0; i < l.elements().size(); i++) {
            b.append(l.elements().get(i)).append(l.between().get(i + 1));
        }
        return b.toString();
    }

    @Test
    public void oneElement() {
        String sql = "CREATE TABLE vistest (LIKE testeoc)";
        LikeElements l = like(sql);
        assertEquals(List.of("testeoc"), l.sources());
        assertEquals(List.of("LIKE testeoc"), l.elements());
        assertEquals(List.of(""), l.including());
        assertEquals(List.of("CREATE TABLE vistest (", ")"), l.between());
        assertEquals(sql, joined(l));
    }

    @Test
    public void severalElementsWithQuotingSchemasCommentsAndOptions() {
        String sql = "CREATE TABLE IF NOT EXISTS \"P\" (a int, /* c, ) */ LIKE s.\"T\" INCLUDING ALL EXCLUDING Indexes,\n"
                + "  like \"U\" -- x, y)\n  INCLUDING defaults including COMMENTS, b text, LIKE v) PARTITION BY LIST (a)";
        LikeElements l = like(sql);
        assertEquals(List.of("s.\"T\"", "\"U\"", "v"), l.sources());
        assertEquals(List.of(" /* c, ) */ LIKE s.\"T\" INCLUDING ALL EXCLUDING Indexes",
                "\n  like \"U\" -- x, y)\n  INCLUDING defaults including COMMENTS", " LIKE v"), l.elements());
        assertEquals(List.of("comments compression constraints defaults generated identity statistics storage",
                "comments defaults", ""), l.including());
        assertEquals(List.of("CREATE TABLE IF NOT EXISTS \"P\" (a int,", ",", ", b text,", ") PARTITION BY LIST (a)"),
                l.between());
        assertEquals(sql, joined(l));
    }

    @Test
    public void theStatementsOwnTextInAQueryOfSeveral() {
        String sql = "SELECT 1; /* before */ CREATE TABLE p (LIKE s) /* after */ ; SELECT 2";
        List<SqlStatement> statements = SqlSplitter.split(sql, true);
        LikeElements l = statements.get(1).replication().like();
        assertEquals(List.of("CREATE TABLE p (", ")"), l.between());
        assertEquals(statements.get(1).body(sql).toString().replace(" /* after */ ", ""), joined(l));
    }

    @Test
    public void notALikeElement() {
        assertNull(like("CREATE TABLE t (a text CHECK (a LIKE 'x%'))"));
        assertNull(like("CREATE TABLE t (\"like\" int)"));
        assertNull(like("CREATE TABLE t AS SELECT * FROM u WHERE a LIKE 'b'"));
    }
}
