package org.mtm.itests.karaf;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.vmOptions;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.keepRuntimeFolder;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.function.Predicate;

import javax.inject.Inject;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

import org.apache.karaf.features.FeaturesService;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.mtm.itests.harness.FreePorts;
import org.mtm.itests.harness.KarafNode;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.karaf.options.LogLevelOption.LogLevel;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * Boots the mtm distribution under Pax Exam with only Karaf's own boot features, so that each test
 * installs its role's feature itself and checks what the role brings up: every SCR component of the
 * org.mtm bundles, the console and the node MBean through Karaf's JMX connector.
 *
 * <p>{@link #config()} runs in the test driver JVM; everything else runs inside the container, where
 * only JDK, OSGi and Karaf APIs are available (the harness jar is not).
 */
public abstract class MtmRoleTestSupport {
    static final String KARAF_BOOT = "(framework, jaas, shell, ssh, management, eventadmin, scr, config, feature, bundle, system, log, package, service)";
    static final Duration ROLE_START = Duration.ofSeconds(60);
    /** Not the default org.mtm.metrics: the role tests check that metrics_jmx_domain of etc/org.mtm.admin.cfg is read. */
    /** The console user's password in the test container (in the driver and the probe alike: a constant). */
    static final String CONSOLE_PASSWORD = "exam-console-password";
    static final String METRICS_JMX_DOMAIN = "org.mtm.roletest.metrics";

    @Inject
    protected BundleContext bundleContext;
    @Inject
    protected FeaturesService featuresService;
    @Inject
    protected SessionFactory sessionFactory;
    @Inject
    protected ConfigurationAdmin configurationAdmin;
    @Inject
    protected ServiceComponentRuntime scr;

    @Configuration
    public Option[] config() {
        String assembly = System.getProperty("mtm.assembly");
        String localRepository = System.getProperty("maven.repo.local");
        // the managed PostgreSQL runs as an unprivileged user: give it a data directory it can reach
        Path postgresRoot = KarafNode.postgresRoot("mtm-paxexam-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> KarafNode.deletePostgresRoot(postgresRoot)));
        byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        String node = "etc/org.mtm.node.cfg";
        return new Option[] {
            karafDistributionConfiguration().frameworkUrl("file:" + assembly).name("mtm").karafVersion("4.4.10")
                .unpackDirectory(new File("target/exam")).useDeployFolder(false),
            keepRuntimeFolder(),
            configureConsole().ignoreLocalConsole(),
            logLevel(LogLevel.INFO),
            // Java 17: what bin/karaf passes and Pax Exam does not
            vmOptions("--add-reads=java.xml=java.logging",
                "--add-exports=java.base/org.apache.karaf.specs.locator=java.xml,ALL-UNNAMED",
                "--patch-module", "java.base=lib/endorsed/org.apache.karaf.specs.locator-4.4.10.jar",
                "--patch-module", "java.xml=lib/endorsed/org.apache.karaf.specs.java.xml-4.4.10.jar",
                "--add-opens", "java.base/java.security=ALL-UNNAMED",
                "--add-opens", "java.base/java.net=ALL-UNNAMED",
                "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/java.util=ALL-UNNAMED",
                "--add-opens", "java.naming/javax.naming.spi=ALL-UNNAMED",
                "--add-opens", "java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.file=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.ftp=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.protocol.jar=ALL-UNNAMED",
                "--add-exports=java.base/sun.net.www.content.text=ALL-UNNAMED",
                "--add-exports=jdk.xml.dom/org.w3c.dom.html=ALL-UNNAMED",
                "--add-exports=jdk.naming.rmi/com.sun.jndi.url.rmi=ALL-UNNAMED",
                "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
                "--add-exports=java.security.sasl/com.sun.security.sasl=ALL-UNNAMED",
                "--add-exports=java.naming/com.sun.jndi.ldap=ALL-UNNAMED",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"),
            // offline: the exam feature and our features come from the local repository only
            editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.localRepository", localRepository),
            editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.repositories", ""),
            editConfigurationFilePut("etc/org.apache.karaf.features.cfg", "featuresBoot", KARAF_BOOT),
            editConfigurationFilePut("etc/org.apache.karaf.shell.cfg", "sshPort", Integer.toString(FreePorts.take())),
            editConfigurationFilePut("etc/org.mtm.admin.cfg", "metrics_jmx_domain", METRICS_JMX_DOMAIN),
            // the status page's HTTP service (mtm-node): never the distribution's 8181, which another run may hold
            editConfigurationFilePut("etc/org.ops4j.pax.web.cfg", "org.osgi.service.http.port", Integer.toString(FreePorts.take())),
            editConfigurationFilePut(node, "database.datadir", postgresRoot.resolve("data").toString()),
            editConfigurationFilePut(node, "cluster.secret", HexFormat.of().formatHex(secret)),
            // the distribution ships no console password (bin/setenv generates one, but Pax Exam does not run it)
            editConfigurationFilePut("etc/users.properties", "karaf", CONSOLE_PASSWORD + ",_g_:admingroup"),
        };
    }

    /** Installs a role's feature and waits until every component of the org.mtm bundles is up. */
    protected void installRole(String feature, Set<String> expectedBundles) throws Exception {
        featuresService.installFeature(feature);
        assertTrue(feature + " installed", featuresService.isInstalled(featuresService.getFeature(feature)));
        Set<String> installed = new TreeSet<>();
        for (Bundle bundle : mtmBundles()) {
            installed.add(bundle.getSymbolicName());
            assertEquals(bundle.getSymbolicName() + " state", Bundle.ACTIVE, bundle.getState());
        }
        assertEquals("org.mtm bundles of " + feature, new TreeSet<>(expectedBundles), installed);
        await("every SCR component of " + feature + " active", ROLE_START, this::componentProblems, List::isEmpty);
    }

    /** Problems of the org.mtm components right now: missing configurations, unsatisfied references, failed activations. */
    protected List<String> componentProblems() {
        List<String> problems = new ArrayList<>();
        Map<String, Integer> perBundle = new LinkedHashMap<>();
        for (Bundle bundle : mtmBundles()) {
            perBundle.put(bundle.getSymbolicName(), 0);
        }
        for (ComponentDescriptionDTO description : scr.getComponentDescriptionDTOs(mtmBundles().toArray(Bundle[]::new))) {
            String bundle = bundleContext.getBundle(description.bundle.id).getSymbolicName();
            perBundle.merge(bundle, 1, Integer::sum);
            if (!scr.isComponentEnabled(description)) {
                problems.add(description.name + " is disabled");
                continue;
            }
            var configurations = scr.getComponentConfigurationDTOs(description);
            if (configurations.isEmpty()) {
                problems.add(description.name + " has no configuration (PID " + Arrays.toString(description.configurationPid) + " missing?)");
            }
            for (ComponentConfigurationDTO configuration : configurations) {
                boolean up = configuration.state == ComponentConfigurationDTO.ACTIVE
                    || (!description.immediate && configuration.state == ComponentConfigurationDTO.SATISFIED);
                if (!up) {
                    problems.add(description.name + " is " + stateName(configuration.state)
                        + (configuration.unsatisfiedReferences.length > 0
                            ? " (unsatisfied: " + Arrays.stream(configuration.unsatisfiedReferences).map(r -> r.name + " " + r.target).toList() + ")" : "")
                        + (configuration.failure != null ? " (failure: " + configuration.failure.lines().findFirst().orElse("") + ")" : ""));
                }
            }
        }
        // every implementation bundle carries at least one component; api holds types only
        perBundle.forEach((bundle, count) -> {
            if (count == 0 && !bundle.equals("org.mtm.api")) {
                problems.add(bundle + " has no SCR component");
            }
        });
        return problems;
    }

    /** The org.mtm bundles with code: not fragments (org.mtm.tls-native, native libraries only, is RESOLVED, never ACTIVE; NodeRoleIT checks it). */
    protected List<Bundle> mtmBundles() {
        List<Bundle> bundles = new ArrayList<>();
        for (Bundle bundle : bundleContext.getBundles()) {
            if (bundle.getSymbolicName() != null && bundle.getSymbolicName().startsWith("org.mtm")
                    && bundle.getHeaders().get(org.osgi.framework.Constants.FRAGMENT_HOST) == null) {
                bundles.add(bundle);
            }
        }
        return bundles;
    }

    private static String stateName(int state) {
        return switch (state) {
            case ComponentConfigurationDTO.ACTIVE -> "ACTIVE";
            case ComponentConfigurationDTO.SATISFIED -> "SATISFIED";
            case ComponentConfigurationDTO.UNSATISFIED_CONFIGURATION -> "UNSATISFIED_CONFIGURATION";
            case ComponentConfigurationDTO.UNSATISFIED_REFERENCE -> "UNSATISFIED_REFERENCE";
            case ComponentConfigurationDTO.FAILED_ACTIVATION -> "FAILED_ACTIVATION";
            default -> "state " + state;
        };
    }

    /** Runs a console command in the container and returns what it printed; fails on an error. */
    protected String execute(String command) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            Session session = sessionFactory.create(System.in, out, out);
            try {
                session.execute(command);
            } finally {
                session.close();
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** A command right after a feature install may not be registered yet: retry "not found" until the deadline. */
    protected String executeWhenRegistered(String command) {
        return await("'" + command + "' registered", Duration.ofSeconds(30), () -> execute(command), out -> !out.contains("Command not found"));
    }

    /** The single row of a one-row console table, column name to value. */
    protected static Map<String, String> singleRow(String output) {
        String[] lines = output.replace("\r", "").split("\n");
        for (int i = 0; i + 2 < lines.length; i++) {
            if (lines[i].contains("|") && lines[i + 1].trim().matches("[-+ ]+")) {
                String[] header = lines[i].split("\\|", -1);
                String[] values = lines[i + 2].split("\\|", -1);
                Map<String, String> row = new LinkedHashMap<>();
                for (int c = 0; c < header.length; c++) {
                    row.put(header[c].trim(), c < values.length ? values[c].trim() : "");
                }
                return row;
            }
        }
        throw new AssertionError("no table in:\n" + output);
    }

    /** Attributes of the node MBean read through Karaf's RMI JMX connector, as an operator's tool would. */
    protected Map<String, Object> readNodeMBeanRemotely(String... attributes) throws Exception {
        return readMBeanRemotely("org.mtm:type=Node", attributes);
    }

    /** Attributes of the one MBean matching {@code pattern}, read through Karaf's RMI JMX connector. */
    protected Map<String, Object> readMBeanRemotely(String pattern, String... attributes) throws Exception {
        Dictionary<String, Object> management = configurationAdmin.getConfiguration("org.apache.karaf.management", null).getProperties();
        String url = "service:jmx:rmi://127.0.0.1:" + management.get("rmiServerPort") + "/jndi/rmi://127.0.0.1:"
            + management.get("rmiRegistryPort") + "/karaf-root";
        Map<String, Object> environment = new HashMap<>();
        environment.put(JMXConnector.CREDENTIALS, new String[] {"karaf", CONSOLE_PASSWORD});
        // the RMI connector starts in the background: the first attempts may be refused
        try (JMXConnector connector = await("JMX connector " + url, Duration.ofSeconds(30),
                () -> JMXConnectorFactory.connect(new JMXServiceURL(url), environment), c -> true)) {
            MBeanServerConnection connection = connector.getMBeanServerConnection();
            java.util.Set<ObjectName> names = connection.queryNames(new ObjectName(pattern), null);
            assertEquals(pattern + " registered once: " + names, 1, names.size());
            ObjectName name = names.iterator().next();
            Map<String, Object> values = new LinkedHashMap<>();
            for (String attribute : attributes) {
                values.put(attribute, connection.getAttribute(name, attribute));
            }
            return values;
        }
    }

    /** Polls {@code probe} until {@code ok} holds or the deadline passes (the harness's Poll, which the probe cannot see). */
    protected static <T> T await(String what, Duration timeout, Callable<T> probe, Predicate<? super T> ok) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Object last = null;
        while (true) {
            try {
                T value = probe.call();
                if (value != null && ok.test(value)) {
                    return value;
                }
                last = value;
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what + "; last: " + last);
            }
            try {
                Thread.sleep(200); // a poll with a deadline (see the loop's condition)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    static final Set<String> STATUSES = Set.of("online", "recovery", "catchup", "disabled", "isolated");

    static Set<String> bundles(String... names) {
        return new TreeSet<>(Arrays.asList(names));
    }

}
