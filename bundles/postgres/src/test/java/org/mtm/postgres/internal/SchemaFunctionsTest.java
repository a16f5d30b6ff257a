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

    private static String replident(Statement st, String table) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT relreplident FROM pg_class WHERE relname = '" + table + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
