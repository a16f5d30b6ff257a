package org.mtm.api;

/**
 * For a connection whose commits are promises others act on (an acceptor's promise or acceptance, the referee's
 * grant): its commits must be on disk before it answers. A server whose default is {@code synchronous_commit = off}
 * (a common setting for speed, in postgresql.conf, per database or per role) would answer first and could forget
 * the promise in a crash; every other setting flushes locally. Run once on the connection, outside a transaction.
 */
public final class DurableCommits {
    /** Sets the session's {@code synchronous_commit} to {@code local} only where it is {@code off}. */
    public static final String SQL = "SELECT pg_catalog.set_config('synchronous_commit', 'local', false)"
        + " WHERE pg_catalog.current_setting('synchronous_commit') = 'off'";

    private DurableCommits() {
    }
}
