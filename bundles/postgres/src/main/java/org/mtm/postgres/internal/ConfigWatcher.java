package org.mtm.postgres.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import org.mtm.api.ClusterConfig;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices changes of the stored cluster configuration: a dedicated connection LISTENs on
 * {@value CatalogStore#CHANNEL} and is polled about every {@code pollMillis}; a full reload every
 * {@code reloadMillis} catches changes made without a NOTIFY. A lost connection is reopened (with
 * backoff) and followed by a reload, since notifications may have been missed meanwhile.
 */
final class ConfigWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);
    private static final long MAX_BACKOFF_MILLIS = 5_000;

    interface ConnectionSource {
        Connection connect() throws SQLException;
    }

    private final ConnectionSource source;
    private final Consumer<Optional<ClusterConfig>> onChange;
    private final int pollMillis;
    private final long reloadMillis;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Optional<ClusterConfig> current;

    ConfigWatcher(ConnectionSource source, Optional<ClusterConfig> initial, Consumer<Optional<ClusterConfig>> onChange,
                  int pollMillis, long reloadMillis) {
        this.source = source;
        this.current = initial;
        this.onChange = onChange;
        this.pollMillis = pollMillis;
        this.reloadMillis = reloadMillis;
        this.thread = new Thread(this::run, "mtm-catalog-watch");
        this.thread.setDaemon(true);
    }

    ConfigWatcher start() {
        thread.start();
        return this;
    }

    Optional<ClusterConfig> current() {
        return current;
    }

    private void run() {
        Connection listen = null;
        long backoff = pollMillis;
        boolean warned = false;
        long nextReload = 0;
        while (running) {
            try {
                if (listen == null) {
                    listen = source.connect();
                    try (Statement st = listen.createStatement()) {
                        st.execute("LISTEN " + CatalogStore.CHANNEL);
                    }
                    if (warned) {
                        LOG.info("watching the cluster configuration again");
                    }
                    warned = false;
                    backoff = pollMillis;
                    nextReload = 0; // notifications may have been missed while disconnected
                }
                PGNotification[] notes = listen.unwrap(PGConnection.class).getNotifications(pollMillis);
                if ((notes != null && notes.length > 0) || System.nanoTime() - nextReload >= 0) {
                    reload(listen);
                    nextReload = System.nanoTime() + reloadMillis * 1_000_000L;
                }
            } catch (SQLException | RuntimeException e) {
                close(listen);
                listen = null;
                if (!running) {
                    break;
                }
                if (!warned) {
                    LOG.warn("cannot watch the cluster configuration in the local database ({}); retrying", e.getMessage());
                    warned = true;
                }
                if (!pause(backoff)) {
                    break;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
        close(listen);
    }

    private void reload(Connection c) throws SQLException {
        refresh(CatalogStore.load(c));
    }

    /** Takes a freshly loaded configuration; reports it when it differs from the current one. */
    synchronized void refresh(Optional<ClusterConfig> loaded) {
        if (!Objects.equals(loaded, current)) {
            current = loaded;
            onChange.accept(loaded);
        }
    }

    private boolean pause(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    private static void close(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // already broken
            }
        }
    }

    /** Stops watching; returns within about one poll interval. */
    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(Math.max(2_000, 4L * pollMillis));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
