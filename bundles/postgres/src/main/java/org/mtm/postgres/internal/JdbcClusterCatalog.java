package org.mtm.postgres.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.mtm.api.ClusterCatalog;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterConfigListener;
import org.mtm.api.Endpoint;
import org.mtm.api.LocalDatabase;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster catalog in schema {@code mtm} of the local database: installs the schema on activation,
 * keeps the stored configuration cached and tells every {@link ClusterConfigListener} when it changes
 * (LISTEN/NOTIFY plus a periodic reload). Usable without OSGi: {@code new JdbcClusterCatalog(db)},
 * {@link #addListener}, {@link #deactivate()}.
 */
@Component(immediate = true, service = ClusterCatalog.class)
public final class JdbcClusterCatalog implements ClusterCatalog {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcClusterCatalog.class);
    static final int POLL_MILLIS = 250;
    static final long RELOAD_MILLIS = 5_000;

    private final LocalDatabase database;
    private final BundleContext context;
    private final List<Subscriber> subscribers = new CopyOnWriteArrayList<>();
    // one thread: every listener sees configurations in the order they were stored, never an older one last
    private final ExecutorService dispatcher = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "mtm-catalog-listeners");
        t.setDaemon(true);
        return t;
    });
    private final ConfigWatcher watcher;

    /** Without OSGi: listeners come through {@link #addListener}. */
    public JdbcClusterCatalog(LocalDatabase database) throws SQLException {
        this(database, null);
    }

    /** Installs the schema on {@code database}, loads the configuration and starts watching it. */
    @Activate
    public JdbcClusterCatalog(@Reference(name = "database") LocalDatabase database, BundleContext context) throws SQLException {
        this.database = database;
        this.context = context;
        Optional<ClusterConfig> initial;
        try (Connection c = database.connect()) {
            CatalogSchema.install(c);
            initial = CatalogStore.load(c);
            if (initial.isPresent()) {
                warnOfReplicaModeTriggers(c, database.databaseName());
            }
        } catch (SQLException e) {
            dispatcher.shutdown();
            throw new SQLException("cannot install or read the mtm catalog in database " + database.databaseName()
                    + " at " + database.endpoint() + ": " + e.getMessage(), e.getSQLState(), e);
        }
        LOG.info("cluster catalog ready in database {} at {}: {}", database.databaseName(), database.endpoint(),
                initial.map(CatalogStore::describe).orElse("no cluster configured yet"));
        this.watcher = new ConfigWatcher(database::connect, initial, this::changed, POLL_MILLIS, RELOAD_MILLIS).start();
    }

    /** A warning only: the node starts whatever it finds ({@link ReplicaModeWarning}). */
    private static void warnOfReplicaModeTriggers(Connection c, String databaseName) {
        try {
            String warning = ReplicaModeWarning.of(c);
            if (warning != null) {
                LOG.warn("database {}: {}", databaseName, warning);
            }
        } catch (SQLException e) {
            LOG.debug("database {}: cannot look for triggers set to fire in replica mode: {}", databaseName,
                    e.getMessage());
        }
    }

    /** Adds a listener; it is told the current configuration at once, then every change. */
    public void addListener(ClusterConfigListener listener) {
        subscribe(new Subscriber(listener, () -> listener, () -> { }));
    }

    public void removeListener(ClusterConfigListener listener) {
        unsubscribe(listener);
    }

    /**
     * The whiteboard. Bound by reference, not by service object: a listener's own component often needs
     * this catalog (transport, consensus), so fetching it while the catalog itself is being activated for
     * that component would be a cycle. The dispatcher thread fetches it later.
     */
    @Reference(name = "listener", service = ClusterConfigListener.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindListener")
    void bindListener(ServiceReference<ClusterConfigListener> reference) {
        BundleContext ctx = context;
        subscribe(new Subscriber(reference, () -> ctx.getService(reference), () -> ctx.ungetService(reference)));
    }

    void unbindListener(ServiceReference<ClusterConfigListener> reference) {
        unsubscribe(reference);
    }

    private void subscribe(Subscriber s) {
        subscribers.add(s);
        dispatch(() -> {
            if (subscribers.contains(s)) {
                s.tell(watcher.current());
            }
        });
    }

    private void unsubscribe(Object key) {
        for (Subscriber s : subscribers) {
            if (s.key.equals(key)) {
                subscribers.remove(s);
                if (!dispatch(s::release)) {
                    s.release();
                }
            }
        }
    }

    private boolean dispatch(Runnable task) {
        try {
            dispatcher.execute(task);
            return true;
        } catch (RejectedExecutionException e) {
            return false; // deactivated
        }
    }

    @Deactivate
    public void deactivate() {
        watcher.close();
        dispatcher.shutdown();
        try {
            if (!dispatcher.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("a cluster configuration listener is still running after 5 s; not waiting longer");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void changed(Optional<ClusterConfig> config) {
        LOG.info("cluster configuration changed: {}", config.map(CatalogStore::describe).orElse("none"));
        dispatch(() -> {
            Optional<ClusterConfig> latest = watcher.current();
            for (Subscriber s : subscribers) {
                s.tell(latest);
            }
        });
    }

    /** A listener and how to get and release it; used on the dispatcher thread only (release aside). */
    private static final class Subscriber {
        final Object key;
        private final Supplier<ClusterConfigListener> obtain;
        private final Runnable release;
        private volatile ClusterConfigListener listener;

        Subscriber(Object key, Supplier<ClusterConfigListener> obtain, Runnable release) {
            this.key = key;
            this.obtain = obtain;
            this.release = release;
        }

        void tell(Optional<ClusterConfig> config) {
            ClusterConfigListener l = listener;
            try {
                if (l == null) {
                    l = obtain.get();
                    if (l == null) {
                        return; // unregistered meanwhile
                    }
                    listener = l;
                }
                l.clusterConfigChanged(config);
            } catch (RuntimeException e) {
                LOG.error("cluster configuration listener {} failed", l == null ? key : l, e);
            }
        }

        void release() {
            if (listener != null) {
                listener = null;
                try {
                    release.run();
                } catch (RuntimeException e) {
                    LOG.debug("releasing listener {}: {}", key, e.getMessage());
                }
            }
        }
    }

    @Override
    public Optional<ClusterConfig> clusterConfig() {
        return watcher.current();
    }

    @Override
    public void installSchema(Connection connection) throws SQLException {
        CatalogSchema.install(connection);
    }

    @Override
    public void advertise(String service, Endpoint endpoint) throws SQLException {
        try (Connection c = database.connect()) {
            CatalogStore.advertise(c, service, endpoint);
        }
        LOG.info("advertised {} at {} in database {}", service, endpoint, database.databaseName());
    }

    @Override
    public Map<String, Endpoint> advertisedEndpoints(Connection connection) throws SQLException {
        return CatalogStore.endpoints(connection);
    }

    @Override
    public void storeClusterConfig(Connection connection, ClusterConfig config) throws SQLException {
        boolean committedHere = connection.getAutoCommit();
        CatalogStore.store(connection, config);
        if (committedHere) {
            // read-your-writes when that was the local database; NOTIFY would bring it a moment later
            try (Connection local = database.connect()) {
                watcher.refresh(CatalogStore.load(local));
            }
        }
    }

    @Override
    public void notifyConfigChanged(Connection connection) throws SQLException {
        CatalogStore.notifyChanged(connection);
    }
}
