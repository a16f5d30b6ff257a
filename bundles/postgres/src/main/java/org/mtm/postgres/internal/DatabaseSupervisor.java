package org.mtm.postgres.internal;

import java.sql.Connection;
import java.sql.SQLException;
import org.mtm.api.Conninfo;
import org.mtm.api.CrashPoints;
import org.mtm.api.LocalDatabase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings the local database up on its own thread, publishes it once it accepts connections and keeps
 * watching it: a managed server that died is started again, an external one is waited for. The
 * database is withdrawn while it is down.
 */
final class DatabaseSupervisor {
    private static final Logger LOG = LoggerFactory.getLogger(DatabaseSupervisor.class);
    private static final long CHECK_MILLIS = 1_000;
    private static final long MAX_BACKOFF_MILLIS = 60_000;

    /** Publishes a ready database; the returned handle withdraws it. */
    interface Publisher {
        AutoCloseable publish(LocalDatabase database);
    }

    private final DatabaseOptions options;
    private final Publisher publisher;
    private final Thread thread;
    private final ManagedPostgres managed;
    private volatile boolean stopped;
    private AutoCloseable published; // guarded by this

    DatabaseSupervisor(DatabaseOptions options, Publisher publisher) {
        this.options = options;
        this.publisher = publisher;
        this.managed = options.managed() ? options.managedServer() : null;
        if (managed != null) CrashPoints.killPostgresWith(managed::kill); // test-only crash points
        this.thread = new Thread(this::run, "mtm-local-postgres");
        this.thread.setDaemon(true);
    }

    DatabaseSupervisor start() {
        thread.start();
        return this;
    }

    private void run() {
        long backoff = CHECK_MILLIS;
        boolean reported = false;
        while (!stopped) {
            try {
                LocalDatabase db = bringUp();
                publish(db);
                LOG.info("local database ready: {} ({})", Conninfo.parse(db.conninfo()),
                        options.managed() ? "managed, data directory " + options.dataDir() : "external");
                backoff = CHECK_MILLIS;
                reported = false;
                while (!stopped && healthy(db)) {
                    Thread.sleep(CHECK_MILLIS);
                }
                withdraw();
                if (!stopped) {
                    LOG.warn("local database stopped accepting connections ({}); {}", options,
                            options.managed() ? "starting it again" : "waiting for it");
                }
            } catch (InterruptedException e) {
                break;
            } catch (IllegalArgumentException e) {
                LOG.error("local database configuration is unusable: {}", e.getMessage());
                break; // a configuration change brings a new supervisor
            } catch (RuntimeException e) {
                withdraw();
                if (stopped) {
                    break;
                }
                if (!reported || backoff >= MAX_BACKOFF_MILLIS) {
                    LOG.error("cannot bring up the local database; retrying in {} s: {}", backoff / 1000, e.getMessage());
                    reported = true;
                }
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    break;
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
        withdraw();
    }

    private LocalDatabase bringUp() {
        if (managed != null) {
            managed.start();
            return managed;
        }
        ExternalPostgres external = new ExternalPostgres(options.conninfo());
        try (Connection c = external.connect()) {
            if (!c.isValid(5)) {
                throw new SQLException("connection is not valid", "08006");
            }
            return external;
        } catch (SQLException e) {
            throw new ExternalUnavailable("external " + external + " does not accept connections: " + e.getMessage()
                    + " (SQLSTATE " + e.getSQLState() + "); check database.conninfo and that the server runs", e);
        }
    }

    private boolean healthy(LocalDatabase db) {
        if (managed != null) {
            return managed.isRunning();
        }
        try (Connection c = db.connect()) {
            return c.isValid(5);
        } catch (SQLException e) {
            return false;
        }
    }

    private synchronized void publish(LocalDatabase db) {
        if (!stopped) {
            published = publisher.publish(db);
        }
    }

    private synchronized void withdraw() {
        if (published != null) {
            try {
                published.close();
            } catch (Exception e) {
                LOG.debug("withdrawing the local database: {}", e.getMessage());
            }
            published = null;
        }
    }

    /**
     * Stops supervising and withdraws the database. The managed server keeps running unless
     * {@code stopServer}: a bundle update must not cut the node's sessions, a framework shutdown must.
     */
    void close(boolean stopServer) {
        stopped = true;
        thread.interrupt();
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        withdraw();
        if (stopServer && managed != null) {
            try {
                managed.stop();
            } catch (RuntimeException e) {
                LOG.error("cannot stop the local PostgreSQL {}: {}", options.dataDir(), e.getMessage());
            }
        }
    }

    /** The managed server, or null for an external one. */
    ManagedPostgres managedServer() {
        return managed;
    }

    private static final class ExternalUnavailable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ExternalUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
