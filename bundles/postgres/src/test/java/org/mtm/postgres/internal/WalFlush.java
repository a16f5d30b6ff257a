package org.mtm.postgres.internal;

import static org.junit.Assert.assertTrue;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Tests of durability: whether what a server wrote is on disk. On a server started with {@link #LAZY_WAL_WRITER} only
 * a commit's own flush moves the flush position within a test's time, so a commit that did not flush shows.
 */
public final class WalFlush {
    /** Server settings: the WAL writer waits 10 s between rounds (its longest delay); no autovacuum writing meanwhile. */
    public static final String[] LAZY_WAL_WRITER = {"wal_writer_delay", "10s", "autovacuum", "off"};
    /** {@link #LAZY_WAL_WRITER} and {@code synchronous_commit = off} as the server's default (a DBA's choice for speed). */
    public static final String[] LAZY_WAL_WRITER_ASYNC_COMMITS = {"wal_writer_delay", "10s", "autovacuum", "off",
        "synchronous_commit", "off"};

    private WalFlush() {
    }

    /** Fails unless everything this server wrote so far is flushed; {@code what} names the step in the message. */
    public static void assertFlushed(Statement st, String what) throws SQLException {
        long written = lsn(st, "pg_current_wal_insert_lsn()");
        long flushed = lsn(st, "pg_current_wal_flush_lsn()");
        assertTrue(what + ": flushed up to " + Long.toHexString(flushed) + ", written up to " + Long.toHexString(written),
            flushed >= written);
    }

    private static long lsn(Statement st, String function) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT pg_catalog." + function + " OPERATOR(pg_catalog.-) '0/0'::pg_catalog.pg_lsn")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
