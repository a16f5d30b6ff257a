package org.mtm.gateway.internal.commit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.gateway.internal.it.TestPostgres;

/**
 * The footprint's functions on a real server: they answer every transaction exactly as the statements they wrap,
 * leave nothing in the session's prepared statements, and are made, kept and replaced by their digest.
 */
public class FootprintRoutinesTest {
    @ClassRule
    public static final TestPostgres PG = new TestPostgres();

    private static List<String> row(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            assertTrue(sql, rs.next());
            List<String> row = new ArrayList<>();
            for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                row.add(rs.getString(i));
            }
            assertFalse(sql, rs.next());
            return row;
        }
    }

    /** Each query and its function's call, in the same transaction: the same row. */
    private static void assertSameAnswers(Statement st, String what) throws SQLException {
        List<String> quick = new ArrayList<>(row(st, Footprint.QUICK_SQL));
        quick.add(null); // the function's fifth column: no lock answers asked
        assertEquals(what + ": quick", quick, row(st, FootprintRoutines.quickCall(false)));
        assertEquals(what + ": quick with locks", row(st, Footprint.QUICK_WITH_LOCKS_SQL),
                row(st, FootprintRoutines.quickCall(true)));
        assertEquals(what + ": locks", row(st, Footprint.LOCKS_SQL), row(st, FootprintRoutines.locksCall()));
    }

    private static Connection installed() throws SQLException {
        Connection c = PG.direct();
        try (Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA IF NOT EXISTS mtm");
        }
        assertTrue(FootprintRoutines.install(c));
        return c;
    }

    @Test
    public void theFunctionsAnswerAsTheStatementsTheyWrap() throws Exception {
        try (Connection admin = installed(); Statement a = admin.createStatement()) {
            a.execute("CREATE TABLE IF NOT EXISTS fp_t (id int PRIMARY KEY)");
            a.execute("GRANT ALL ON fp_t TO PUBLIC");
        }
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            c.unwrap(org.postgresql.PGConnection.class).setPrepareThreshold(0); // pgjdbc prepares none of its own
            c.setAutoCommit(false);
            assertSameAnswers(st, "no xid");
            List<String> readOnly = row(st, FootprintRoutines.quickCall(true));
            assertEquals("no xid, no lock answers", java.util.Arrays.asList(null, "f", "read committed", "f", null), readOnly);
            c.rollback();

            st.execute("INSERT INTO fp_t VALUES (1)");
            assertSameAnswers(st, "a write");
            assertEquals("{false,true,false}", row(st, FootprintRoutines.quickCall(true)).get(4));
            c.rollback();

            st.execute("SELECT pg_catalog.lo_create(0)");
            assertSameAnswers(st, "a large object");
            assertEquals("t", row(st, FootprintRoutines.quickCall(false)).get(3));
            c.rollback();

            st.execute("CREATE TABLE fp_new (a int)");
            assertSameAnswers(st, "a new table");
            assertEquals("{false,true,true}", row(st, FootprintRoutines.quickCall(true)).get(4));
            c.rollback();

            st.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
            st.execute("CREATE TEMP TABLE fp_temp (a int)");
            st.execute("INSERT INTO fp_temp VALUES (1)");
            assertSameAnswers(st, "a temporary table");
            List<String> temporary = row(st, FootprintRoutines.quickCall(true));
            assertEquals("t", temporary.get(1));
            assertEquals("serializable", temporary.get(2));
            c.rollback();

            // a client's search_path cannot change what the functions call
            st.execute("SET search_path = public");
            st.execute("INSERT INTO fp_t VALUES (2)");
            assertSameAnswers(st, "a write with the client's search_path");
            c.rollback();

            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_catalog.pg_prepared_statements")) {
                assertTrue(rs.next());
                assertEquals("nothing of the gateway's among the session's prepared statements", 0, rs.getInt(1));
            }
        }
    }

    @Test
    public void madeOnceAndMadeAgainWhenAnotherVersionIsThere() throws Exception {
        try (Connection c = installed(); Statement st = c.createStatement()) {
            assertEquals(FootprintRoutines.MARK, FootprintRoutines.installedMark(c));
            String oid = row(st, "SELECT 'mtm.gateway_footprint(boolean)'::regprocedure::oid").get(0);
            assertTrue(FootprintRoutines.install(c));
            assertEquals("this version's functions are kept as they are", oid,
                    row(st, "SELECT 'mtm.gateway_footprint(boolean)'::regprocedure::oid").get(0));

            st.execute("COMMENT ON FUNCTION mtm.gateway_footprint(boolean) IS 'mtm gateway footprint older'");
            assertEquals(null, FootprintRoutines.installedMark(c));
            assertTrue(FootprintRoutines.install(c));
            assertEquals(FootprintRoutines.MARK, FootprintRoutines.installedMark(c));
        }
    }

    @Test
    public void nothingIsMadeWithoutTheCatalogSchema() throws Exception {
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE fp_bare");
        }
        org.mtm.api.Endpoint at = PG.endpoint();
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + at.host() + ":" + at.port()
                + "/fp_bare", TestPostgres.USER, null)) {
            assertFalse(FootprintRoutines.install(c));
            assertTrue(c.getAutoCommit());
        }
    }
}
