package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterConfigListener;
import org.mtm.api.LocalDatabase;
import org.mtm.api.NodeSet;
import org.mtm.api.Replication;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drops this node's replication slot of every node that is no longer configured (manual F.31.4.4: after
 * {@code mtm.drop_node(3)} "the replication slots for node 3 are deleted on every node"), so that a dropped node keeps
 * no WAL. A slot still streamed by the dropped node's receiver has its walsender ended first; a slot that cannot be
 * dropped yet is tried again every second. Told of every configuration the catalog loads, at activation too, so a
 * drop while this bundle was stopped is cleaned up when it starts.
 *
 * <p>The replication origins {@code mtm_node_<id>} stay: they record how far this node applied the dropped node's
 * transactions, which a later recovery from a donor still needs to skip them (they hold no WAL).
 */
@Component(immediate = true, service = ClusterConfigListener.class)
public final class DroppedNodeSlots implements ClusterConfigListener {
    private static final Logger LOG = LoggerFactory.getLogger(DroppedNodeSlots.class);
    static final long RETRY_MS = 1_000;
    private static final String SLOT_PREFIX = Replication.slotName(0).replace("0", "");

    private final LocalDatabase database;
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-dropped-node-slots");
        t.setDaemon(true);
        return t;
    });
    /** The configuration to sweep for; the sweeper thread reads it. */
    private volatile Optional<ClusterConfig> config = Optional.empty();
    private String lastProblem;

    @Activate
    public DroppedNodeSlots(@Reference(name = "database") LocalDatabase database) {
        this.database = database;
    }

    @Deactivate
    void deactivate() {
        sweeper.shutdownNow();
    }

    @Override
    public void clusterConfigChanged(Optional<ClusterConfig> newConfig) {
        config = newConfig;
        schedule(0);
    }

    private void schedule(long delayMs) {
        try {
            sweeper.schedule(this::sweep, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException deactivated) {
            // nothing more to do
        }
    }

    private void sweep() {
        Optional<ClusterConfig> cfg = config;
        if (cfg.isEmpty()) {
            return; // before init_cluster: every slot is someone else's business
        }
        NodeSet configured = cfg.get().configured();
        try (Connection c = database.connect()) {
            List<String> left = new ArrayList<>();
            for (Slot s : mtmSlots(c)) {
                if (configured.contains(s.node())) {
                    continue;
                }
                if (!drop(c, s)) {
                    left.add(s.name());
                }
            }
            if (!left.isEmpty()) {
                schedule(RETRY_MS);
            }
            lastProblem = null;
        } catch (SQLException e) {
            if (!String.valueOf(e.getMessage()).equals(lastProblem)) {
                LOG.warn("node {}: cannot drop the replication slots of dropped nodes yet ({}); retrying every {} ms",
                    cfg.get().selfId(), e.getMessage(), RETRY_MS);
                lastProblem = String.valueOf(e.getMessage());
            }
            schedule(RETRY_MS);
        }
    }

    private record Slot(String name, int node, Integer activePid) {
    }

    private static List<Slot> mtmSlots(Connection c) throws SQLException {
        List<Slot> slots = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT slot_name, active_pid FROM pg_catalog.pg_replication_slots"
            + " WHERE database = pg_catalog.current_database() AND slot_name ~ ?")) {
            ps.setString(1, "^" + SLOT_PREFIX + "[0-9]+$");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    int pid = rs.getInt(2);
                    slots.add(new Slot(name, Integer.parseInt(name.substring(SLOT_PREFIX.length())),
                        rs.wasNull() ? null : pid));
                }
            }
        }
        return slots;
    }

    /** Ends the slot's walsender, if any, and drops it; false when it is still in use (tried again later). */
    private static boolean drop(Connection c, Slot s) throws SQLException {
        if (s.activePid() != null) {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.pg_terminate_backend(?)")) {
                ps.setInt(1, s.activePid());
                ps.execute();
            }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.pg_drop_replication_slot(slot_name)"
            + " FROM pg_catalog.pg_replication_slots WHERE slot_name = ? AND active_pid IS NULL")) {
            ps.setString(1, s.name());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    LOG.info("dropped replication slot {}: node {} is no longer configured", s.name(), s.node());
                    return true;
                }
            }
        }
        return false;
    }
}
