package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

/** The SQL functions of schema mtm that need no running mtm node, on a real PostgreSQL. */
public class SchemaFunctionsTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;
    private static JdbcClusterCatalog catalog;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.startSmallServer();
        catalog = new JdbcClusterCatalog(pg);
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE PUBLICATION mtm_publication FOR ALL TABLES");
        }
    }

    @AfterClass
    public static void stop() {
        if (catalog != null) {
            catalog.deactivate();
        }
    }

    @Test
    public void tablesWithoutPrimaryKeyGetFullReplicaIdentitySoUpdatesWork() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE no_pk (a int, b text)");
            st.execute("CREATE TABLE with_pk (a int PRIMARY KEY)");
            st.execute("CREATE TEMP TABLE temp_no_pk (a int)");
            st.execute("INSERT INTO no_pk VALUES (1, 'x')");
            SQLException refused = assertThrows(SQLException.class, () -> st.execute("UPDATE no_pk SET b = 'y'"));
            assertEquals("55000", refused.getSQLState()); // "does not have a replica identity and publishes updates"

            try (ResultSet rs = st.executeQuery("SELECT string_agg(t::text, ',') FROM mtm.ensure_replica_identity() t")) {
                rs.next();
                assertEquals("no_pk", rs.getString(1));
            }
            assertEquals(1, st.executeUpdate("UPDATE no_pk SET b = 'y'"));
            assertEquals("f", replident(st, "no_pk"));
            assertEquals("d", replident(st, "with_pk"));
            assertEquals("d", replident(st, "temp_no_pk"));
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM mtm.ensure_replica_identity()")) {
                rs.next();
                assertEquals("idempotent", 0, rs.getInt(1));
            }
        }
    }

    @Test
    public void anOrdinaryRoleRunningDdlFixesTablesItDoesNotOwn() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE owned_by_admin (a int)");
            st.execute("CREATE ROLE app_user LOGIN");
            st.execute("GRANT CREATE ON SCHEMA public TO app_user");
            st.execute("SET ROLE app_user");
            st.execute("CREATE TABLE owned_by_app (a int)");
            try (ResultSet rs = st.executeQuery("SELECT string_agg(t::text, ',' ORDER BY t::text) FROM mtm.ensure_replica_identity() t")) {
                rs.next();
                assertEquals("owned_by_admin,owned_by_app", rs.getString(1));
            }
            SQLException status = assertThrows(SQLException.class, () -> st.executeQuery("SELECT * FROM mtm.status()"));
            assertEquals("the status view answers any role (no node runs here: 55000, not 42501)", "55000", status.getSQLState());
            st.execute("SELECT pg_logical_emit_message(true, 'mtm.test', 'any role may emit the gateway messages')");
            st.execute("RESET ROLE");
            assertEquals("f", replident(st, "owned_by_admin"));
        }
    }

    private static String replident(Statement st, String table) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT relreplident FROM pg_class WHERE relname = '" + table + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
