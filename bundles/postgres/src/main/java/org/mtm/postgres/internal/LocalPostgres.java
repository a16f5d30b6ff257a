package org.mtm.postgres.internal;

import java.util.Dictionary;
import java.util.Hashtable;
import org.mtm.api.LocalDatabase;
import org.osgi.annotation.bundle.Capability;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's local PostgreSQL as a {@link LocalDatabase} service: a managed server (the embedded
 * default) or an existing one by conninfo.
 *
 * <p>The server is brought up on a background thread and the service registered only once it accepts
 * connections: initdb or crash recovery can take minutes, and SCR must not block the framework that
 * long; the services that need the database simply wait for it. A managed server outlives this
 * component when only the bundle stops or is updated (sessions survive {@code bundle:update}; the next
 * activation adopts the running server) and is stopped when the framework shuts down.
 */
// The service is registered by hand once the server is up, so declare it for resolvers (Karaf's features
// resolver checks osgi.service requirements such as JdbcClusterCatalog's reference to it).
@Capability(namespace = "osgi.service", attribute = "objectClass:List<String>=\"org.mtm.api.LocalDatabase\"",
        uses = LocalDatabase.class)
@Component(immediate = true, configurationPid = "org.mtm.node", configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = LocalPostgres.Config.class)
public final class LocalPostgres {
    private static final Logger LOG = LoggerFactory.getLogger(LocalPostgres.class);

    @ObjectClassDefinition(id = "org.mtm.node", name = "mtm node: local PostgreSQL",
            description = "The PostgreSQL server beside this node (database.* keys of PID org.mtm.node)")
    public @interface Config {
        @AttributeDefinition(name = "database.managed",
                description = "true: this node runs its own PostgreSQL (initdb, start, stop); false: use database.conninfo")
        boolean database_managed() default true;

        @AttributeDefinition(name = "database.conninfo", required = false,
                description = "Unmanaged: libpq conninfo (host=... port=... dbname=... user=...) or postgresql:// URI of an existing server")
        String database_conninfo() default "";

        @AttributeDefinition(name = "database.datadir", required = false,
                description = "Managed: data directory; empty = ${karaf.data}/postgres")
        String database_datadir() default "";

        @AttributeDefinition(name = "database.bindir", required = false,
                description = "Managed: PostgreSQL 15+ bin directory; empty = pg_config --bindir, else newest /usr/lib/postgresql/<N>/bin")
        String database_bindir() default "";

        @AttributeDefinition(name = "database.host", description = "Managed: listen address of the server")
        String database_host() default "127.0.0.1";

        @AttributeDefinition(name = "database.port",
                description = "Managed: port; 0 = a free port chosen at the first start and kept in the data directory")
        int database_port() default 0;

        @AttributeDefinition(name = "database.name", description = "Managed: the replicated database, created when missing")
        String database_name() default "mydb";

        @AttributeDefinition(name = "database.user", description = "Managed: superuser created by initdb, used by the node and its peers")
        String database_user() default "mtmuser";

        @AttributeDefinition(name = "database.password", type = AttributeType.PASSWORD, required = false,
                description = "Managed: superuser password; empty = trust authentication from loopback only (then database.host "
                        + "must be a loopback address), else scram-sha-256")
        String database_password() default "";

        @AttributeDefinition(name = "database.osuser", required = false,
                description = "Managed: OS user of the server; empty = postgres when Karaf runs as root, else Karaf's user")
        String database_osuser() default "";

        @AttributeDefinition(name = "database.max_connections", description = "Managed: max_connections")
        int database_max__connections() default 100;

        @AttributeDefinition(name = "database.base_backup_from", required = false,
                description = "Managed: a live node's PostgreSQL conninfo; an empty data directory is then made with"
                        + " pg_basebackup from it (manual F.31.4.3) instead of initdb, and the node waits for mtm.join_node")
        String database_base__backup__from() default "";

        @AttributeDefinition(name = "database.max_nodes",
                description = "Managed: most nodes the cluster will have; max_prepared_transactions = max_connections * max_nodes")
        int database_max__nodes() default 5;
    }

    private final BundleContext context;
    private final Bundle systemBundle;
    private DatabaseOptions options;
    private DatabaseSupervisor supervisor;

    @Activate
    public LocalPostgres(BundleContext context, Config config) {
        this.context = context;
        this.systemBundle = context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION);
        start(parse(config));
    }

    /** Other keys of org.mtm.node (transport, gateway) change without touching the database. */
    @Modified
    synchronized void modified(Config config) {
        DatabaseOptions next = parse(config);
        if (next != null && next.equals(options)) {
            return;
        }
        LOG.info("local database settings changed; bringing the database up again with them");
        if (supervisor != null) {
            supervisor.close(false); // the next start adopts the server, restarting it if its settings changed
            supervisor = null;
        }
        start(next);
    }

    private synchronized void start(DatabaseOptions next) {
        options = next;
        if (next == null) {
            return; // parse() said why
        }
        try {
            supervisor = new DatabaseSupervisor(next, this::register).start();
        } catch (IllegalArgumentException e) {
            LOG.error("local database configuration (PID org.mtm.node) is unusable: {}", e.getMessage());
        }
    }

    private static DatabaseOptions parse(Config config) {
        try {
            return DatabaseOptions.from(config, System.getProperty("karaf.data"));
        } catch (IllegalArgumentException e) {
            LOG.error("local database configuration (PID org.mtm.node) is unusable: {}", e.getMessage());
            return null;
        }
    }

    private AutoCloseable register(LocalDatabase db) {
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("database.managed", db.isManaged());
        props.put("database.name", db.databaseName());
        props.put("database.endpoint", db.endpoint().toString());
        props.put(Constants.SERVICE_DESCRIPTION, "mtm local PostgreSQL " + db.endpoint());
        ServiceRegistration<LocalDatabase> reg = context.registerService(LocalDatabase.class, db, props);
        return () -> {
            try {
                reg.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle stopped and the framework withdrew it already
            }
        };
    }

    @Deactivate
    synchronized void deactivate() {
        boolean shutdown = systemBundle != null && systemBundle.getState() == Bundle.STOPPING;
        if (supervisor != null) {
            if (shutdown && supervisor.managedServer() != null) {
                LOG.info("framework is shutting down: stopping the local PostgreSQL {}", options.dataDir());
            } else if (supervisor.managedServer() != null) {
                LOG.info("leaving the local PostgreSQL {} running for the next activation (bundle stop or update)",
                        options.dataDir());
            }
            supervisor.close(shutdown);
            supervisor = null;
        }
    }
}
