package org.mtm.applier.internal;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.mtm.api.LocalDatabase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code deadlock_prevention} for one receiver's apply sessions: a thread that looks, every
 * {@value #INTERVAL_MS} ms, at the sessions whose statement has been running that long, finds those
 * waiting for a lock held by a prepared transaction — directly or queued behind backends that wait for it,
 * the usual case under load: a local session asked for the row first — and cancels the ones
 * {@link DeadlockPrevention} says should give up (the apply then votes the transaction down with 40P01). Whatever the
 * mode, the waits it finds go to the node's {@link LockGraph}, which shares them with the peers: an apply whose wait
 * closes a cycle across nodes and whose transaction is that cycle's victim is cancelled the same way (global deadlock
 * detection: tens of milliseconds instead of the lock bound). Nothing runs on the server while no apply statement is
 * slow.
 */
final class LockWatch {
    private static final Logger LOG = LoggerFactory.getLogger(LockWatch.class);
    static final long INTERVAL_MS = 20;
    /** How many backends queued ahead of an apply the watch follows to the prepared transaction at the front. */
    private static final int MAX_CHAIN = 4;

    /**
     * Waiting apply backends and the gid of each prepared transaction they wait for — directly, or through
     * backends queued ahead of them that wait for it (a local session that asked for the row first and waits
     * for the same prepared transaction: the apply waits for that prepared transaction just the same).
     */
    private static final String BLOCKERS_SQL = "WITH RECURSIVE chain (root, pid, depth) AS ("
            + " SELECT w, w, 0 FROM pg_catalog.unnest(?::int[]) w"
            + " UNION SELECT c.root, b, c.depth + 1 FROM chain c, pg_catalog.unnest(pg_catalog.pg_blocking_pids(c.pid)) b"
            + " WHERE b <> 0 AND c.depth < " + MAX_CHAIN + ")"
            + " SELECT DISTINCT c.root, p.gid FROM chain c"
            + " JOIN pg_catalog.pg_locks w ON w.pid = c.pid AND NOT w.granted"
            + " JOIN pg_catalog.pg_locks h ON h.granted AND h.pid IS NULL"
            + " AND (h.locktype, h.database, h.relation, h.page, h.tuple, h.virtualxid, h.transactionid, h.classid, h.objid,"
            + " h.objsubid) IS NOT DISTINCT FROM (w.locktype, w.database, w.relation, w.page, w.tuple, w.virtualxid,"
            + " w.transactionid, w.classid, w.objid, w.objsubid)"
            + " JOIN pg_catalog.pg_locks x ON x.pid IS NULL AND x.locktype = 'transactionid'"
            + " AND x.virtualtransaction = h.virtualtransaction"
            + " JOIN pg_catalog.pg_prepared_xacts p ON p.transaction = x.transactionid"
            + " WHERE 0 = ANY(pg_catalog.pg_blocking_pids(c.pid))";
    /**
     * Autovacuum workers that block the apply backends given, directly: cancelled, as PostgreSQL itself cancels an
     * autovacuum that blocks a lock request after deadlock_timeout — but an apply's lock wait is bounded below that
     * (the replicated DDL after a bulk load, e.g. ALTER TABLE ... ADD PRIMARY KEY, met the auto-analyze of the loaded
     * table on a peer and the whole transaction failed with 40001). Not a vacuum to prevent wraparound, which
     * PostgreSQL does not cancel either. The worker's table is vacuumed again at a later round.
     */
    static final String CANCEL_AUTOVACUUM_SQL = "SELECT a.pid, pg_catalog.pg_cancel_backend(a.pid), a.query"
            + " FROM pg_catalog.pg_stat_activity a"
            + " WHERE a.backend_type = 'autovacuum worker' AND a.query NOT LIKE '%(to prevent wraparound)'"
            + " AND a.pid IN (SELECT pg_catalog.unnest(pg_catalog.pg_blocking_pids(w)) FROM pg_catalog.unnest(?::int[]) w)";
    /** Cancels only while the backend still waits for a lock: the wait may have ended meanwhile. */
    private static final String CANCEL_SQL = "SELECT pg_catalog.pg_cancel_backend(pid) FROM pg_catalog.pg_stat_activity"
            + " WHERE pid = ? AND wait_event_type = 'Lock'";

    private final int self;
    private final int peer;
    private final LocalDatabase database;
    private final DeadlockPrevention prevention;
    private final Supplier<List<ApplySession>> sessions;
    /** The node's share of the cluster's wait-for graph; null: waits stay local (a node without peers, tests). */
    private final LockGraph graph;
    /** Whether the graph holds waits of this watch (an empty report clears them once the applies stop waiting). */
    private boolean reported;
    private final Thread thread;
    private volatile boolean stopped;
    private Connection connection;

    LockWatch(int self, int peer, LocalDatabase database, DeadlockPrevention prevention, Supplier<List<ApplySession>> sessions,
              LockGraph graph) {
        this.self = self;
        this.peer = peer;
        this.database = database;
        this.prevention = prevention;
        this.sessions = sessions;
        this.graph = graph;
        this.thread = new Thread(this::run, "mtm-lock-watch-" + peer);
        thread.setDaemon(true);
    }

    LockWatch start() {
        thread.start();
        return this;
    }

    void stop() {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try {
            while (!stopped) {
                TimeUnit.MILLISECONDS.sleep(INTERVAL_MS); // a timer, not a wait for a condition
                List<ApplySession> slow = new ArrayList<>();
                for (ApplySession s : sessions.get()) {
                    if (s.applying() != null && s.busyFor(TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS))) {
                        slow.add(s);
                    }
                }
                if (slow.isEmpty() && reported) {
                    graph.reportLocal(self, peer, java.util.Set.of());
                    reported = false;
                }
                if (!slow.isEmpty()) {
                    try {
                        check(slow);
                    } catch (SQLException e) {
                        LOG.debug("node {}: lock watch for node {}'s appliers failed: {}", self, peer, e.getMessage());
                        close();
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            close();
        }
    }

    private void check(List<ApplySession> slow) throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = database.connect();
            connection.setAutoCommit(true);
        }
        Map<Integer, ApplySession> byPid = new HashMap<>();
        Object[] pids = new Object[slow.size()];
        for (int i = 0; i < slow.size(); i++) {
            byPid.put(slow.get(i).backendPid(), slow.get(i));
            pids[i] = slow.get(i).backendPid();
        }
        try (PreparedStatement ps = connection.prepareStatement(CANCEL_AUTOVACUUM_SQL)) {
            ps.setArray(1, connection.createArrayOf("int4", pids));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    LOG.info("node {}: cancelled autovacuum worker {} ({}): it blocked the apply of node {}'s transaction",
                            self, rs.getInt(1), rs.getString(3), peer);
                }
            }
        }
        List<Object[]> waits = new ArrayList<>();
        try (PreparedStatement ps = connection.prepareStatement(BLOCKERS_SQL)) {
            Array array = connection.createArrayOf("int4", pids);
            ps.setArray(1, array);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    waits.add(new Object[] {rs.getInt(1), rs.getString(2)});
                }
            }
        }
        java.util.Set<String> victims = java.util.Set.of();
        if (graph != null) {
            java.util.Set<WaitsFor.Edge> edges = new java.util.HashSet<>();
            for (Object[] w : waits) {
                String waiter = byPid.get((Integer) w[0]).applying();
                if (waiter != null && !waiter.equals(w[1])) {
                    edges.add(new WaitsFor.Edge(waiter, (String) w[1]));
                }
            }
            graph.reportLocal(self, peer, edges);
            reported = !edges.isEmpty();
            victims = graph.victims(self);
        }
        java.util.Set<Integer> cancelled = new java.util.HashSet<>();
        for (Object[] w : waits) {
            ApplySession s = byPid.get((Integer) w[0]);
            String waiter = s.applying();
            String holder = (String) w[1];
            boolean victim = victims.contains(waiter);
            if (waiter == null || waiter.equals(holder) || !victim && !prevention.abortWaiter(waiter, holder)
                    || !cancelled.add(s.backendPid())) {
                continue;
            }
            if (s.markCancelled(waiter, holder, victim)) {
                LOG.debug("node {}: {} waits for prepared {}: cancelling its apply ({})", self, waiter, holder,
                        victim ? "global deadlock: the victim of a cycle of waits across nodes"
                                : "deadlock_prevention=" + prevention.sqlName());
                try (PreparedStatement ps = connection.prepareStatement(CANCEL_SQL)) {
                    ps.setInt(1, s.backendPid());
                    ps.executeQuery().close();
                }
            }
        }
    }

    private void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                // nothing to release
            }
            connection = null;
        }
    }
}
