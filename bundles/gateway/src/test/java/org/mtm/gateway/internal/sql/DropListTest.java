package org.mtm.gateway.internal.sql;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.List;

import org.junit.Test;

/**
 * A DROP (or GRANT/REVOKE) of several relations: the classifier keeps the statement's text before the first name and
 * after the last, so that the other nodes run it without the node-local relations among them. Those pieces are of the
 * statement's own text: from its first token to its last but the semicolon, never the other statements of the query.
 */
public class DropListTest {
    /** The replication class of statement {@code index} of the simple-protocol query {@code sql}. */
    private static Replication nth(String sql, int index) {
        return SqlSplitter.split(sql, true).get(index).replication();
    }

    @Test
    public void aStatementOfItsOwn() {
        Replication r = nth("DROP TABLE a, b", 0);
        assertEquals(List.of("a", "b"), r.relations());
        assertEquals(List.of("DROP TABLE ", ""), r.dropList());
    }

    @Test
    public void afterOtherStatementsOfTheQuery() {
        Replication r = nth("CREATE TABLE x (i int); DROP TABLE a, b", 1);
        assertEquals(List.of("DROP TABLE ", ""), r.dropList());
        r = nth("CREATE TABLE x1 (i int); CREATE TEMP TABLE t1 (i int); CREATE TABLE p1 (i int); DROP TABLE t1, p1;"
                + " INSERT INTO x1 VALUES (1)", 3);
        assertEquals(List.of("t1", "p1"), r.relations());
        assertEquals(List.of("DROP TABLE ", ""), r.dropList());
    }

    @Test
    public void beforeOtherStatementsOfTheQuery() {
        assertEquals(List.of("DROP TABLE ", " CASCADE"), nth("DROP TABLE a, b CASCADE; SELECT 1", 0).dropList());
        assertEquals(List.of("DROP TABLE ", ""), nth("DROP TABLE a, b;INSERT INTO x VALUES (1)", 0).dropList());
    }

    @Test
    public void commentsQuotedNamesAndIfExistsInTheMiddleOfAQuery() {
        String sql = "SELECT 1; /* c; */ drop table if exists \"T;1\", s.\"b\" /* x; */ restrict -- y;\n ; SELECT 2";
        Replication r = nth(sql, 1);
        assertEquals(List.of("\"T;1\"", "s.\"b\""), r.relations());
        assertEquals(List.of("drop table if exists ", " /* x; */ restrict"), r.dropList());
        // the last statement, without a semicolon: its trailing comment is left out too
        r = nth("SELECT 1;\nDROP VIEW IF EXISTS v, w CASCADE -- the end", 1);
        assertEquals(List.of("DROP VIEW IF EXISTS ", " CASCADE"), r.dropList());
    }

    @Test
    public void grantOnSeveralTablesInAQuery() {
        Replication r = nth("CREATE TABLE a (i int); GRANT SELECT ON a, b TO PUBLIC; SELECT 1", 1);
        assertEquals(List.of("GRANT SELECT ON ", " TO PUBLIC"), r.dropList());
    }

    @Test
    public void oneRelationHasNoList() {
        assertNull(nth("SELECT 1; DROP TABLE a; SELECT 2", 1).dropList());
    }
}
