package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterConfigListener;
import org.mtm.api.LocalDatabase;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node that mtm.join_node just made itself ({@code mtm.join_pending.joined}) makes its own replication slot for every
 * peer (and origin), from which the peers will stream what it commits once online; then it forgets the row, which
 * lets it go online (the consensus bundle holds it back while the row is there). The slots cannot be made by
 * join_node: creating a logical slot waits for every transaction running, and the prepared transactions copied with
 * the base backup end only when this node's catch-up applies their outcome. Retried every second until done; the
 * creation itself waits as long as it must. Nothing this node commits is missed: it commits nothing of its own before
 * it is online.
 */
@Component(immediate = true, service = ClusterConfigListener.class)
public final class JoinedNodeSlots implements ClusterConfigListener {
    private static final Logger LOG = LoggerFactory.getLogger(JoinedNodeSlots.class);
    static final long RETRY_MS = 1_000;

    private final LocalDatabase database;
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-joined-node-slots");
        t.setDaemon(true);
        return t;
    });
    private volatile Optional<ClusterConfig> config = Optional.empty();
    private String lastProblem;

    @Activate
    public JoinedNodeSlots(@Reference(name = "database") LocalDatabase database) {
        this.database = database;
    }

    @Deactivate
    void deactivate() {
        worker.shutdownNow();
    }

    @Override
    public void clusterConfigChanged(Optional<ClusterConfig> newConfig) {
        config = newConfig;
        schedule(0);
    }

    private void schedule(long delayMs) {
        try {
            worker.schedule(this::run, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException deactivated) {
            // nothing more to do
        }
    }

    private void run() {
        Optional<ClusterConfig> cfg = config;
        if (cfg.isEmpty()) {
            return;
        }
        try (Connection c = database.connect(); Statement st = c.createStatement()) {
            if (!joined(st)) {
                return;
            }
            LOG.info("node {}: joined the cluster (mtm.join_node): creating its replication slots for peers {} (they"
                + " wait for the prepared transactions of its base backup, which its catch-up finishes)",
                cfg.get().selfId(), cfg.get().configured().without(cfg.get().selfId()));
            long t = System.nanoTime();
            ReplicationSetup.prepare(c, cfg.get());
            st.executeUpdate("DELETE FROM mtm.join_pending WHERE joined");
            st.execute("NOTIFY mtm_config");
            LOG.info("node {}: its replication slots exist ({} ms): it may go online", cfg.get().selfId(),
                (System.nanoTime() - t) / 1_000_000);
            lastProblem = null;
        } catch (SQLException e) {
            if (!String.valueOf(e.getMessage()).equals(lastProblem)) {
                LOG.warn("node {}: cannot create its replication slots yet ({}); retrying every {} ms",
                    cfg.get().selfId(), e.getMessage(), RETRY_MS);
                lastProblem = String.valueOf(e.getMessage());
            }
            schedule(RETRY_MS);
        }
    }

    /** The row mtm.join_node left (older catalogs have no such table or column: nothing to do). */
    static boolean joined(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT to_regclass('mtm.join_pending') IS NOT NULL AND EXISTS (SELECT 1"
            + " FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('mtm.join_pending') AND attname = 'joined')")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                return false;
            }
        }
        try (ResultSet rs = st.executeQuery("SELECT EXISTS (SELECT 1 FROM mtm.join_pending WHERE joined)")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }
}
