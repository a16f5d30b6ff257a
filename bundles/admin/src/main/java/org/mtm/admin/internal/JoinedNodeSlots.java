package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterConfigListener;
import org.mtm.api.LocalDatabase;
import org.mtm.api.SlotBuildHold;
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
 * the base backup end only when this node's catch-up applies their outcome. Nothing this node commits is missed: it
 * commits nothing of its own before it is online.
 *
 * <p>The slots are made through {@link SlotBuildHold}: only once no transaction is prepared here and with the catch-up
 * held at a unit boundary, so that each is consistent at once. A slot made while the catch-up ran could miss a catalog
 * change it applied meanwhile (DDL of the other nodes) and stop decoding for good ({@code could not map filenode},
 * {@code SlotsBuiltDuringCatchUpDdlTest}). Tried again every {@value #RETRY_MS} ms until made ({@value #BUSY_RETRY_MS}
 * ms after the catch-up was found busy: each try may hold it up to {@link SlotBuildHold#HOLD_WAIT_MS} ms).
 */
@Component(immediate = true, service = ClusterConfigListener.class)
public final class JoinedNodeSlots implements ClusterConfigListener {
    private static final Logger LOG = LoggerFactory.getLogger(JoinedNodeSlots.class);
    static final long RETRY_MS = 200;
    static final long BUSY_RETRY_MS = 1_000;
    static final long FAILURE_RETRY_MS = 1_000;

    private final LocalDatabase database;
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-joined-node-slots");
        t.setDaemon(true);
        return t;
    });
    private volatile Optional<ClusterConfig> config = Optional.empty();
    private String lastProblem;
    /** When the slots were first tried. */
    private long firstTryNanos;
    private SlotBuildHold.Outcome lastOutcome;
    private ScheduledFuture<?> next;
    private String lastWhy;
    /** The configuration the publication, replica identities and origins were made for. */
    private ClusterConfig setUpFor;

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

    /** One try pending at a time: a new configuration brings the next try forward. */
    private synchronized void schedule(long delayMs) {
        if (next != null && !next.isDone() && next.getDelay(TimeUnit.MILLISECONDS) <= delayMs) {
            return;
        }
        if (next != null) {
            next.cancel(false);
        }
        try {
            next = worker.schedule(this::run, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException deactivated) {
            // nothing more to do
        }
    }

    private void run() {
        synchronized (this) {
            next = null; // this try runs: the next one is scheduled from here or by a new configuration
        }
        Optional<ClusterConfig> cfg = config;
        if (cfg.isEmpty()) {
            return;
        }
        try (Connection c = database.connect(); Statement st = c.createStatement()) {
            if (!joined(st)) {
                return;
            }
            if (!cfg.get().equals(setUpFor)) {
                LOG.info("node {}: joined the cluster (mtm.join_node): creating its replication slots for peers {} once"
                    + " no transaction is prepared here (the base backup's copies, which its catch-up finishes) and its"
                    + " catch-up is held between two transactions", cfg.get().selfId(),
                    cfg.get().configured().without(cfg.get().selfId()));
                ReplicationSetup.prepareAllButSlots(c, cfg.get());
                if (setUpFor == null) {
                    firstTryNanos = System.nanoTime();
                }
                setUpFor = cfg.get();
            }
            SlotBuildHold.Outcome outcome = SlotBuildHold.tryBuild(c, ReplicationSetup.slotNames(cfg.get()));
            if (outcome != SlotBuildHold.Outcome.BUILT) {
                String why = outcome == SlotBuildHold.Outcome.PREPARED_HERE ? "transactions are prepared here: "
                    + preparedHere(st)
                    : "its catch-up did not pause between two transactions within " + SlotBuildHold.HOLD_WAIT_MS + " ms";
                if (outcome != lastOutcome || !why.equals(lastWhy)) {
                    LOG.info("node {}: its replication slots wait: {}", cfg.get().selfId(), why);
                    lastOutcome = outcome;
                    lastWhy = why;
                }
                schedule(outcome == SlotBuildHold.Outcome.CATCH_UP_BUSY ? BUSY_RETRY_MS : RETRY_MS);
                return;
            }
            st.executeUpdate("DELETE FROM mtm.join_pending WHERE joined");
            st.execute("NOTIFY mtm_config");
            LOG.info("node {}: its replication slots exist ({} ms): it may go online", cfg.get().selfId(),
                (System.nanoTime() - firstTryNanos) / 1_000_000);
            lastProblem = null;
        } catch (SQLException e) {
            if (!String.valueOf(e.getMessage()).equals(lastProblem)) {
                LOG.warn("node {}: cannot create its replication slots yet ({}); retrying every {} ms",
                    cfg.get().selfId(), e.getMessage(), FAILURE_RETRY_MS);
                lastProblem = String.valueOf(e.getMessage());
            }
            schedule(FAILURE_RETRY_MS);
        }
    }

    /** The gids prepared here, for the log. */
    private static String preparedHere(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT coalesce(string_agg(gid, ', ' ORDER BY gid), 'none now')"
            + " FROM pg_catalog.pg_prepared_xacts")) {
            rs.next();
            return rs.getString(1);
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
