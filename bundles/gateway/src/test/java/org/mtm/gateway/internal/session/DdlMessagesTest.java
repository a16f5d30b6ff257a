package org.mtm.gateway.internal.session;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.Test;
import org.mtm.gateway.internal.sql.PreparedQueries;
import org.mtm.gateway.internal.sql.Replication;
import org.mtm.gateway.internal.sql.SqlSplitter;

/** The DDL message statement of CREATE TABLE ... AS EXECUTE: the prepared statement's query goes with it. */
public class DdlMessagesTest {
    private static String text(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    @Test
    public void createTableAsExecuteCarriesTheQuery() {
        PreparedQueries prepared = new PreparedQueries();
        prepared.relayed("PREPARE data_sel AS SELECT generate_series(1,3)", Replication.Reach.NO_WRITE, true);
        String ctas = "CREATE TABLE t (a) AS EXECUTE Data_Sel WITH NO DATA";
        Replication r = SqlSplitter.classifyOne(ctas, true).replication();
        DdlMessages.Emit e = DdlMessages.emit(ctas.getBytes(StandardCharsets.ISO_8859_1), r, prepared, true);
        assertTrue(e.sql(), e.sql().contains("mtm.ctas_execute_text($1::pg_catalog.text, $3::pg_catalog.text"));
        assertEquals(5, e.params().size());
        assertEquals("CREATE TABLE t (a) AS EXECUTE mtm_ctas_execute WITH NO DATA", text(e.params().get(0)));
        assertEquals("t", text(e.params().get(1)));
        assertEquals("data_sel", text(e.params().get(2)));
        assertEquals("SELECT generate_series(1,3)", text(e.params().get(3)));
        assertEquals("PREPARE data_sel AS SELECT generate_series(1,3)", text(e.params().get(4)));
        // a protocol-level prepared statement (or one the gateway did not see): no query from the gateway
        ctas = "CREATE TABLE t AS EXECUTE s_1";
        e = DdlMessages.emit(ctas.getBytes(StandardCharsets.ISO_8859_1), SqlSplitter.classifyOne(ctas, true).replication(),
                prepared, true);
        assertEquals("", text(e.params().get(3)));
        assertEquals("", text(e.params().get(4)));
    }

    @Test
    public void createTableLikeCarriesItsElementsForMtmLikeText() {
        String sql = "CREATE TABLE p (LIKE s INCLUDING COMPRESSION, a int, LIKE t)";
        Replication r = SqlSplitter.classifyOne(sql, true).replication();
        DdlMessages.Emit e = DdlMessages.emit(sql.getBytes(StandardCharsets.ISO_8859_1), r, new PreparedQueries(), true);
        assertTrue(e.sql(), e.sql().contains("mtm.like_text($1::pg_catalog.text, ARRAY[$2, $3]::pg_catalog.text[],"
                + " ARRAY[$4, $5]::pg_catalog.text[], ARRAY[$6, $7]::pg_catalog.text[], ARRAY[$8, $9, $10]::pg_catalog.text[])"));
        assertEquals(java.util.List.of(sql, "s", "t", "LIKE s INCLUDING COMPRESSION", " LIKE t", "compression", "",
                "CREATE TABLE p (", ", a int,", ")"), e.params().stream().map(DdlMessagesTest::text).toList());
    }

    @Test
    public void otherStatementsAsBefore() {
        String ctas = "CREATE TABLE t AS SELECT 'AS EXECUTE q'";
        Replication r = SqlSplitter.classifyOne(ctas, true).replication();
        DdlMessages.Emit e = DdlMessages.emit(ctas.getBytes(StandardCharsets.ISO_8859_1), r, new PreparedQueries(), true);
        assertFalse(e.sql().contains("ctas_execute"));
        assertEquals(DdlMessages.emitSql(r), e.sql());
        assertEquals(2, e.params().size());
        assertEquals(ctas, text(e.params().get(0)));
    }

    @Test
    public void aDropOfSeveralRelationsInAQueryOfSeveralCarriesItsOwnTextOnly() {
        String sql = "CREATE TABLE x1 (i int); CREATE TEMP TABLE t1 (i int); DROP TABLE t1, p1 CASCADE; INSERT INTO x1 VALUES (1)";
        org.mtm.gateway.internal.sql.SqlStatement st = SqlSplitter.split(sql, true).get(2);
        byte[] body = st.body(sql).toString().getBytes(StandardCharsets.ISO_8859_1);
        DdlMessages.Emit e = DdlMessages.emit(body, st.replication(), new PreparedQueries(), true);
        assertEquals(DdlMessages.dropSql(2), e.sql());
        // $1 the statement, $2 and $3 its relations, $4 and $5 the text around them
        assertEquals(java.util.List.of("DROP TABLE t1, p1 CASCADE", "t1", "p1", "DROP TABLE ", " CASCADE"),
                e.params().stream().map(DdlMessagesTest::text).toList());
    }
}
