package org.mtm.admin.internal.jmx;

import java.io.IOException;
import java.io.Serializable;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.rmi.RemoteException;
import java.rmi.registry.LocateRegistry;
import java.rmi.server.RMIClientSocketFactory;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.framework.InvalidSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the node's JMX reachable: probes Karaf's RMI registry (the address of {@code etc/org.apache.karaf.management.cfg})
 * every {@link #PERIOD_SECONDS} s and, when it has not answered for {@link #CONFIRM_MILLIS} ms while Karaf's management
 * bundle is active, restarts that bundle (transiently), logging why — see {@link RegistryWatch} for the Karaf start-up
 * race this repairs. Nothing is probed when the configuration says {@code createRmiRegistry = false}.
 */
@Component(immediate = true, service = {})
public final class JmxRegistryGuard {
    static final String MANAGEMENT_BUNDLE = "org.apache.karaf.management.server";
    static final String MANAGEMENT_PID = "org.apache.karaf.management";
    static final long PERIOD_SECONDS = 5;
    static final long CONFIRM_MILLIS = 8_000;
    static final long SPACING_MILLIS = 30_000;
    private static final int PROBE_TIMEOUT_MILLIS = 3_000;
    private static final Logger LOG = LoggerFactory.getLogger(JmxRegistryGuard.class);

    private final BundleContext context;
    private final ConfigurationAdmin configurations;
    private final RegistryWatch watch = new RegistryWatch(CONFIRM_MILLIS, SPACING_MILLIS);
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-jmx-guard");
        t.setDaemon(true);
        return t;
    });

    @Activate
    public JmxRegistryGuard(BundleContext context, @Reference ConfigurationAdmin configurations) {
        this.context = context;
        this.configurations = configurations;
        timer.scheduleWithFixedDelay(this::check, PERIOD_SECONDS, PERIOD_SECONDS, TimeUnit.SECONDS);
    }

    @Deactivate
    void stop() {
        timer.shutdownNow();
    }

    private void check() {
        try {
            Optional<Bundle> management = Arrays.stream(context.getBundles())
                .filter(b -> MANAGEMENT_BUNDLE.equals(b.getSymbolicName())).findFirst();
            Optional<Registry> registry = configuredRegistry();
            if (management.isEmpty() || management.get().getState() != Bundle.ACTIVE || registry.isEmpty()) {
                return; // stopped on purpose, not installed, or no registry of its own: nothing to keep up
            }
            Registry r = registry.get();
            if (watch.restartAfter(answers(r), System.nanoTime() / 1_000_000)) {
                LOG.warn("JMX: Karaf's RMI registry at {}:{} has not answered for {} s (its port was taken when Karaf's "
                        + "management bundle started: by another process, or not yet freed by its own earlier start); "
                        + "restarting bundle {}. If this repeats, free port {} or set rmiRegistryPort in "
                        + "etc/org.apache.karaf.management.cfg", r.host, r.port, CONFIRM_MILLIS / 1000, MANAGEMENT_BUNDLE,
                    r.port);
                Bundle b = management.get();
                b.stop(Bundle.STOP_TRANSIENT);
                b.start(Bundle.START_TRANSIENT);
            }
        } catch (BundleException | RuntimeException e) {
            LOG.warn("JMX: could not check or restart Karaf's JMX connector: {}", e.toString());
        }
    }

    private record Registry(String host, int port, String boundName) { }

    /** Karaf's registry address and the connector's name in it, from the management configuration. */
    private Optional<Registry> configuredRegistry() {
        try {
            Configuration[] found = configurations.listConfigurations("(service.pid=" + MANAGEMENT_PID + ")");
            Dictionary<String, Object> p = found == null || found.length == 0 ? null : found[0].getProperties();
            if (p == null || "false".equalsIgnoreCase(String.valueOf(p.get("createRmiRegistry")).trim())) {
                return Optional.empty();
            }
            String host = p.get("rmiRegistryHost") == null ? "" : String.valueOf(p.get("rmiRegistryHost")).trim();
            if (host.isEmpty() || "0.0.0.0".equals(host)) {
                host = "127.0.0.1";
            }
            int port = p.get("rmiRegistryPort") == null ? 1099 : Integer.parseInt(String.valueOf(p.get("rmiRegistryPort")).trim());
            return Optional.of(new Registry(host, port, boundName(p.get("serviceUrl"))));
        } catch (IOException | InvalidSyntaxException | NumberFormatException e) {
            LOG.debug("JMX: cannot read {}: {}", MANAGEMENT_PID, e.toString());
            return Optional.empty();
        }
    }

    /** The connector's name in the registry ({@code karaf-<karaf.name>} by default), null when the URL names none. */
    static String boundName(Object serviceUrl) {
        String url = serviceUrl == null ? "" : String.valueOf(serviceUrl);
        int jndi = url.indexOf("/jndi/rmi://");
        if (jndi < 0) {
            return url.isEmpty() ? "karaf-" + System.getProperty("karaf.name") : null;
        }
        String name = url.substring(url.lastIndexOf('/') + 1);
        return name.contains("${") || name.isEmpty() ? null : name;
    }

    /** True when the registry lists the connector's name (or anything, when the name is not known). */
    private static boolean answers(Registry r) {
        try {
            String[] names = LocateRegistry.getRegistry(r.host, r.port, TimedSockets.INSTANCE).list();
            return r.boundName == null || Arrays.asList(names).contains(r.boundName);
        } catch (RemoteException e) {
            return false;
        }
    }

    /** Client sockets with bounds: a port held by something that accepts and never answers must not hang the probe. */
    private static final class TimedSockets implements RMIClientSocketFactory, Serializable {
        private static final long serialVersionUID = 1L;
        static final TimedSockets INSTANCE = new TimedSockets();

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            Socket s = new Socket();
            try {
                s.connect(new InetSocketAddress(host, port), PROBE_TIMEOUT_MILLIS);
                s.setSoTimeout(PROBE_TIMEOUT_MILLIS);
                return s;
            } catch (IOException e) {
                s.close();
                throw e;
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TimedSockets;
        }

        @Override
        public int hashCode() {
            return TimedSockets.class.hashCode();
        }
    }
}
