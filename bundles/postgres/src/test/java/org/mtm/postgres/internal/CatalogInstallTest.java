package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * Installing schema mtm again — every activation of the catalog does, a bundle update included — while a
 * prepared transaction holds a row lock in an mtm table (an applied transaction waiting for its commit, which
 * only this node's receivers can bring): it must neither wait for that transaction nor fail.
 */
public class CatalogInstallTest {
    @ClassRule
    public static final TestDirs DIRS = new TestDirs();
    private static ManagedPostgres pg;

    @BeforeClass
    public static void start() throws Exception {
        pg = DIRS.startSmallServer();
        try (Connection c = pg.connect()) {
            CatalogSchema.install(c);
        }
    }

    @Test
    public void theSameVersionIsNotInstalledAgainAndAnUpgradeDoesNotWaitForPreparedTransactions() throws SQLException {
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            assertEquals(CatalogSchema.MARK, CatalogSchema.installedMark(c));
            st.execute("BEGIN");
            st.execute("INSERT INTO mtm.applied_xacts (origin, lsn, gid) VALUES (2, '0/1', 'MTM-2-1-1')");
            st.execute("PREPARE TRANSACTION 'MTM-2-1-1'");
            try {
                st.execute("SET lock_timeout = '3s'"); // a wait for the prepared transaction fails the test instead of hanging it
                CatalogSchema.install(c); // the same version: nothing to do
                st.execute("COMMENT ON SCHEMA mtm IS 'mtm catalog of an older version'");
                CatalogSchema.install(c); // an upgrade: every statement runs, none waits for the prepared transaction
                assertEquals(CatalogSchema.MARK, CatalogSchema.installedMark(c));
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_indexes WHERE indexname = 'applied_xacts_gid'")) {
                    rs.next();
                    assertEquals(1, rs.getInt(1));
                }
            } finally {
                st.execute("ROLLBACK PREPARED 'MTM-2-1-1'");
            }
        }
    }

    @Test
    public void theMarkChangesWithTheScript() {
        assertNotEquals("mtm catalog of an older version", CatalogSchema.MARK);
        assertEquals("mtm catalog ".length() + 24, CatalogSchema.MARK.length());
    }
}
