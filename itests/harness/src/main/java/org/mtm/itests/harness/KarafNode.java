package org.mtm.itests.harness;

import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

import org.mtm.api.DatabasePassword;
import org.mtm.testing.TestCertificates;

/**
 * One real mtm node for tests: the Karaf distribution unpacked into its own folder, configured with
 * free ports, a managed PostgreSQL data directory and the cluster secret, started as
 * {@code bin/karaf server} in a process group of its own (so that kill -9 takes the script and the JVM
 * together), driven through its SSH console and its JMX connector.
 */
public final class KarafNode implements AutoCloseable {
    public static final String USER = "karaf";
    public static final String DATABASE = "mydb";
    public static final String DATABASE_USER = "mtmuser";
    public static final String NODE_MBEAN = "org.mtm:type=Node";

    private final String name;
    private final Path home;
    private final Path datadir;
    private final int sshPort;
    private final int rmiRegistryPort;
    private final int rmiServerPort;
    private final int transportPort;
    private final int gatewayPort;
    private final int postgresPort;
    private final int metricsPort;
    /** Karaf's HTTP service (the status page, /mtm/). */
    private final int httpPort;
    /** The managed server's password: without database.password the node derives it from the cluster secret. */
    private final String databasePassword;
    private Process process;
    private KarafConsole console;
    private JMXConnector jmx;

    private KarafNode(String name, Path home, Path datadir, int[] ports, String databasePassword) {
        this.databasePassword = databasePassword;
        this.name = name;
        this.home = home;
        this.datadir = datadir;
        this.sshPort = ports[0];
        this.rmiRegistryPort = ports[1];
        this.rmiServerPort = ports[2];
        this.transportPort = ports[3];
        this.gatewayPort = ports[4];
        this.postgresPort = ports[5];
        this.metricsPort = ports[6];
        this.httpPort = ports[7];
    }

    /**
     * Unpacks the distribution {@code assembly} (tar.gz) into {@code home} (emptied first) and writes
     * the node's configuration. The managed PostgreSQL data directory goes to {@code postgresRoot/name/data}:
     * a folder the unprivileged OS user that runs PostgreSQL can reach even when {@code home} lies under
     * a private directory such as /root.
     */
    public static KarafNode create(String name, Path assembly, Path home, Path postgresRoot, String clusterSecret) {
        try {
            deleteTree(home);
            Files.createDirectories(home);
            Path template = ProvisionedTemplate.of(assembly);
            if (template != null) {
                ProvisionedTemplate.copy(template, home);
            } else {
                exec(Duration.ofMinutes(2), "tar", "xzf", assembly.toString(), "-C", home.toString(), "--strip-components=1");
            }
            Path pgHome = postgresRoot.resolve(name);
            deleteTree(pgHome);
            Files.createDirectories(pgHome);
            openForOthers(postgresRoot);
            openForOthers(pgHome);
            KarafNode node = new KarafNode(name, home, pgHome.resolve("data"), FreePorts.take(8),
                DatabasePassword.derive(clusterSecret, DATABASE_USER));
            node.writeConfiguration(clusterSecret);
            DatabasePasswords.register(node.databasePassword, node.gatewayPort, node.postgresPort);
            Path bindir = PostgresVersions.binDir(PostgresVersions.majorOf(indexOf(name)));
            if (bindir != null) {
                ConfigFile.put(home.resolve("etc").resolve("org.mtm.node.cfg"), "database.bindir", bindir.toString());
            }
            return node;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot set up node " + name + " in " + home, e);
        }
    }

    /**
     * The one run of {@link ProvisionedTemplate}: the distribution unpacked in {@code home}, its own ports, an unmanaged
     * database on a port nothing listens on (no PostgreSQL starts), not registered with {@link DatabasePasswords}.
     */
    static KarafNode forTemplate(Path home, String clusterSecret) {
        int[] ports = FreePorts.take(8);
        KarafNode node = new KarafNode("template", home, home.resolve("data/postgres"), ports,
            DatabasePassword.derive(clusterSecret, DATABASE_USER));
        node.writeConfiguration(clusterSecret);
        Path cfg = home.resolve("etc").resolve("org.mtm.node.cfg");
        ConfigFile.put(cfg, "database.managed", "false");
        ConfigFile.put(cfg, "database.conninfo", "host=127.0.0.1 port=" + ports[5] + " dbname=" + DATABASE + " user=" + DATABASE_USER);
        return node;
    }

    /** The trailing number of a node's name ({@code node3}: 3); 1 when it has none. */
    static int indexOf(String name) {
        int i = name.length();
        while (i > 0 && Character.isDigit(name.charAt(i - 1))) {
            i--;
        }
        return i == name.length() ? 1 : Integer.parseInt(name.substring(i));
    }

    /** A folder for the managed servers' data directories, under the system temp dir, reachable by every user. */
    public static Path postgresRoot(String prefix) {
        try {
            Path root = Files.createTempDirectory(prefix);
            openForOthers(root);
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a folder for PostgreSQL data directories", e);
        }
    }

    /** Stops any server still running in a data directory under {@code root}, then deletes the folder. */
    public static void deletePostgresRoot(Path root) {
        if (root == null || !Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> children = Files.list(root)) {
            children.forEach(child -> Postmaster.stop(child.resolve("data"), Duration.ofSeconds(10)));
            deleteTree(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }

    private void writeConfiguration(String clusterSecret) {
        Path etc = home.resolve("etc");
        ConfigFile.put(etc.resolve("org.apache.karaf.shell.cfg"), "sshPort", Integer.toString(sshPort));
        ConfigFile.put(etc.resolve("org.apache.karaf.management.cfg"), "rmiRegistryPort", Integer.toString(rmiRegistryPort));
        ConfigFile.put(etc.resolve("org.apache.karaf.management.cfg"), "rmiServerPort", Integer.toString(rmiServerPort));
        Path node = etc.resolve("org.mtm.node.cfg");
        ConfigFile.put(node, "database.datadir", datadir.toString());
        ConfigFile.put(node, "database.port", Integer.toString(postgresPort));
        ConfigFile.put(node, "transport.port", Integer.toString(transportPort));
        ConfigFile.put(node, "gateway.port", Integer.toString(gatewayPort));
        ConfigFile.put(node, "cluster.secret", clusterSecret);
        ConfigFile.put(etc.resolve("org.mtm.admin.cfg"), "prometheus.port", Integer.toString(metricsPort));
        ConfigFile.put(etc.resolve("org.ops4j.pax.web.cfg"), "org.osgi.service.http.port", Integer.toString(httpPort));
    }

    /** Sets a key of an {@code etc/} file, e.g. {@code ("org.mtm.multimaster.cfg", "heartbeat_recv_timeout", "2000")}. */
    public KarafNode configure(String etcFile, String key, String value) {
        ConfigFile.put(home.resolve("etc").resolve(etcFile), key, value);
        return this;
    }

    /**
     * TLS with a certificate of {@code ca} for this node (localhost, 127.0.0.1), written into its {@code etc/}:
     * mutual TLS to its peers (which must use the same CA) and TLS on the gateway, {@code gateway.tls.required} as
     * given. Before the first start.
     */
    public KarafNode tls(TestCertificates.Authority ca, boolean gatewayRequired) {
        // the transport accepts a peer as node N only with a certificate naming N; this node's id is its name's number
        TestCertificates.Issued cert = ca.issueNode(name, indexOf(name));
        Path node = home.resolve("etc").resolve("org.mtm.node.cfg");
        ConfigFile.put(node, "transport.tls.ca_file", ca.cert().toString());
        ConfigFile.put(node, "transport.tls.cert_file", cert.cert().toString());
        ConfigFile.put(node, "transport.tls.key_file", cert.key().toString());
        ConfigFile.put(node, "gateway.tls.cert_file", cert.cert().toString());
        ConfigFile.put(node, "gateway.tls.key_file", cert.key().toString());
        ConfigFile.put(node, "gateway.tls.required", Boolean.toString(gatewayRequired));
        return this;
    }

    /** Chooses the role (node or referee) before the first start, through the distribution's bin/mtm-role. */
    public KarafNode role(String role) {
        try {
            // a copy of the provisioned template: Karaf reads the boot features (the role) on a first start only
            deleteTree(home.resolve("data/cache"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot drop the bundle cache of " + home, e);
        }
        exec(Duration.ofSeconds(30), home.resolve("bin/mtm-role").toString(), role);
        return this;
    }

    /** Starts {@code bin/karaf server} in a new session and process group; returns at once. */
    public synchronized KarafNode start() {
        if (process != null && process.isAlive() && !groupAlive()) {
            // stopped: every process of its group is gone, the launcher's exit may not be reaped yet
            try {
                process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("node " + name + " is already running: " + describeGroup());
        }
        try {
            ProcessBuilder builder = new ProcessBuilder("setsid", home.resolve("bin/karaf").toString(), "server")
                .directory(home.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve("karaf.out").toFile()));
            Map<String, String> env = builder.environment();
            env.put("JAVA_HOME", System.getProperty("java.home"));
            // test nodes: quick JIT and a small GC, the build machine has few cores
            env.put("EXTRA_JAVA_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC");
            process = builder.start();
            // the child becomes a group leader once setsid has run, a moment after the fork
            long pid = process.pid();
            Poll.until(name + ": setsid makes its Karaf a process group leader", Duration.ofSeconds(10), Duration.ofMillis(10),
                () -> processGroup(pid) == pid || !process.isAlive());
            if (!process.isAlive()) {
                throw new IllegalStateException("node " + name + " exited at once (exit " + process.exitValue() + "); see " + home.resolve("karaf.out"));
            }
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + name + " in " + home, e);
        }
    }

    /** Waits until the managed PostgreSQL accepts connections and the mtm console answers {@code mtm:status}. */
    public KarafNode awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            Poll.until(name + ": PostgreSQL on port " + postgresPort, remaining(deadline), Duration.ofMillis(250), () -> accepts(postgresPort));
            Poll.until(name + ": mtm:status on the console", remaining(deadline), Duration.ofMillis(250),
                () -> console().execute("mtm:status", Duration.ofSeconds(20)), KarafConsole.Result::ok);
            return this;
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n--- last lines of " + home.resolve("data/log/karaf.log") + ":\n" + logTail(30), e);
        }
    }

    /** Runs a console command and returns its output; fails when the command fails. */
    public String execute(String command) {
        KarafConsole.Result result = console().execute(command);
        if (!result.ok()) {
            throw new AssertionError(name + ": '" + command + "' failed (exit " + result.exitStatus() + "):\n" + result.output());
        }
        return result.output();
    }

    /** Runs a console command, whatever its outcome. */
    public KarafConsole.Result tryExecute(String command) {
        return console().execute(command);
    }

    /**
     * User karaf's console and JMX password: the distribution ships none, and its {@code bin/setenv} generated this
     * one into {@code etc/users.properties} when the node first started.
     */
    public String consolePassword() {
        Path users = home.resolve("etc/users.properties");
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(users)) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + users, e);
        }
        String entry = p.getProperty(USER);
        if (entry == null || entry.isBlank()) {
            throw new IllegalStateException(users + " has no password for user " + USER + ": bin/setenv generates one "
                + "when the node first starts");
        }
        return entry.split(",", 2)[0].trim();
    }

    public synchronized KarafConsole console() {
        if (console == null) {
            console = new KarafConsole("127.0.0.1", sshPort, USER, consolePassword());
        }
        return console;
    }

    /** Attributes of the node MBean through Karaf's JMX connector (the remote view an operator gets). */
    public Map<String, Object> nodeMBean(String... attributes) {
        try {
            MBeanServerConnection connection = jmx().getMBeanServerConnection();
            Map<String, Object> values = new LinkedHashMap<>();
            ObjectName objectName = new ObjectName(NODE_MBEAN);
            for (String attribute : attributes) {
                values.put(attribute, connection.getAttribute(objectName, attribute));
            }
            return values;
        } catch (IOException e) {
            closeJmx();
            throw new UncheckedIOException(name + ": JMX connection failed", e);
        } catch (Exception e) {
            throw new IllegalStateException(name + ": cannot read " + NODE_MBEAN + ": " + e, e);
        }
    }

    /** Invokes an operation of the node MBean through Karaf's JMX connector; its failure comes back as the exception. */
    public Object invokeNodeMBean(String operation, Object[] arguments, String[] signature) throws Exception {
        try {
            return jmx().getMBeanServerConnection().invoke(new ObjectName(NODE_MBEAN), operation, arguments, signature);
        } catch (IOException e) {
            closeJmx();
            throw new UncheckedIOException(name + ": JMX connection failed", e);
        }
    }

    /**
     * An attribute of a Dropwizard metric through Karaf's JMX connector, e.g. {@code ("mtm.commit.latency", "Count")}:
     * the reporter's MBean {@code org.mtm.metrics:name=<metric>,type=<kind>}; null when there is no such MBean.
     */
    public Object metricAttribute(String metric, String attribute) {
        try {
            MBeanServerConnection connection = jmx().getMBeanServerConnection();
            for (ObjectName n : connection.queryNames(new ObjectName("org.mtm.metrics:name=" + ObjectName.quote(metric) + ",*"), null)) {
                return connection.getAttribute(n, attribute);
            }
            for (ObjectName n : connection.queryNames(new ObjectName("org.mtm.metrics:name=" + metric + ",*"), null)) {
                return connection.getAttribute(n, attribute);
            }
            return null;
        } catch (IOException e) {
            closeJmx();
            throw new UncheckedIOException(name + ": JMX connection failed", e);
        } catch (Exception e) {
            throw new IllegalStateException(name + ": cannot read metric " + metric + "." + attribute + ": " + e, e);
        }
    }

    /** The node's Prometheus endpoint ({@code prometheus.port} of etc/org.mtm.admin.cfg): {@code GET /metrics}. */
    public String scrapeMetrics() {
        try {
            java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
                .send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException(name + ": GET /metrics answered " + r.statusCode() + ": " + r.body());
            }
            return r.body();
        } catch (IOException e) {
            throw new UncheckedIOException(name + ": cannot scrape http://127.0.0.1:" + metricsPort + "/metrics", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(name + ": interrupted while scraping its metrics", e);
        }
    }

    public int metricsPort() {
        return metricsPort;
    }

    /** The node's status page on Karaf's HTTP service. */
    public String statusPageUrl() {
        return "http://127.0.0.1:" + httpPort + "/mtm/";
    }

    /** A new JMX connection to this node as {@code user} (a console user of etc/users.properties); the caller closes it. */
    public JMXConnector jmxAs(String user, String password) throws IOException {
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi://127.0.0.1:" + rmiServerPort
            + "/jndi/rmi://127.0.0.1:" + rmiRegistryPort + "/karaf-root");
        return JMXConnectorFactory.connect(url, Map.of(JMXConnector.CREDENTIALS, new String[] {user, password}));
    }

    private synchronized JMXConnector jmx() throws IOException {
        if (jmx == null) {
            JMXServiceURL url = new JMXServiceURL("service:jmx:rmi://127.0.0.1:" + rmiServerPort
                + "/jndi/rmi://127.0.0.1:" + rmiRegistryPort + "/karaf-root");
            Map<String, Object> env = new HashMap<>();
            env.put(JMXConnector.CREDENTIALS, new String[] {USER, consolePassword()});
            jmx = JMXConnectorFactory.connect(url, env);
        }
        return jmx;
    }

    private synchronized void closeJmx() {
        if (jmx != null) {
            try {
                jmx.close();
            } catch (IOException ignored) {
                // the connection is gone either way
            }
            jmx = null;
        }
    }

    /** SIGKILL of the node's Karaf (script and JVM). Its PostgreSQL keeps running, as after a JVM crash. */
    public void killKaraf() {
        dropClients();
        if (process != null) {
            Signals.sendToGroup("KILL", process.pid());
            awaitGroupGone(Duration.ofSeconds(30));
        }
    }

    /**
     * SIGKILL of the node's PostgreSQL only (its Karaf keeps running, and its supervisor is expected to start the
     * server again); returns the killed postmaster's pid.
     */
    public long killPostgres() {
        return Postmaster.kill(datadir).orElseThrow(() -> new IllegalStateException(name + ": no PostgreSQL runs in " + datadir));
    }

    /** SIGSTOP of the node's Karaf (script and JVM): a hung VM or a long GC pause, until {@link #thaw()}. */
    public void freeze() {
        Signals.sendToGroup("STOP", process.pid());
    }

    /** SIGCONT after {@link #freeze()}. */
    public void thaw() {
        Signals.sendToGroup("CONT", process.pid());
    }

    /** Graceful stop (SIGTERM: Karaf stops its bundles, the managed PostgreSQL with them), SIGKILL after {@code grace}. */
    public void stop(Duration grace) {
        dropClients();
        if (process != null && groupAlive()) {
            Signals.sendToGroup("TERM", process.pid());
            long deadline = System.nanoTime() + grace.toNanos();
            while (groupAlive() && System.nanoTime() < deadline) {
                Signals.pause(Duration.ofMillis(100));
            }
            if (groupAlive()) {
                Signals.sendToGroup("KILL", process.pid());
                awaitGroupGone(Duration.ofSeconds(30));
            }
        }
    }

    /** Stops the node and whatever PostgreSQL still runs on its data directory. */
    @Override
    public void close() {
        stop(Duration.ofSeconds(20));
        Postmaster.stop(datadir, Duration.ofSeconds(10));
    }

    private void dropClients() {
        KarafConsole current;
        synchronized (this) {
            current = console;
            console = null;
        }
        if (current != null) {
            current.close();
        }
        closeJmx();
    }

    private void awaitGroupGone(Duration timeout) {
        Poll.until(name + ": Karaf processes gone", timeout, Duration.ofMillis(50), () -> !groupAlive());
    }

    /** The node's launcher and the processes of its group, with their command lines (for errors). */
    private String describeGroup() {
        StringBuilder b = new StringBuilder("launcher " + process.pid() + (isZombie(process.pid()) ? " (zombie)" : "") + "; group:");
        for (long pid : processesInGroup(process.pid())) {
            String cmd;
            try {
                cmd = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ').trim();
            } catch (IOException e) {
                cmd = "?";
            }
            b.append(' ').append(pid).append(" [").append(cmd.length() > 120 ? cmd.substring(0, 120) + "…" : cmd).append(']');
        }
        return b.toString();
    }

    /** True while any process of the node's process group lives (the script may die before the JVM). */
    public boolean groupAlive() {
        return process != null && !processesInGroup(process.pid()).isEmpty();
    }

    static List<Long> processesInGroup(long pgid) {
        List<Long> members = new ArrayList<>();
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            entries.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
                long pid = Long.parseLong(p.getFileName().toString());
                if (processGroup(pid) == pgid && !isZombie(pid)) {
                    members.add(pid);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list /proc", e);
        }
        return members;
    }

    /** Field 5 of /proc/pid/stat (after the parenthesised command name), or -1 when the process is gone. */
    static long processGroup(long pid) {
        String[] fields = statFields(pid);
        return fields == null ? -1 : Long.parseLong(fields[2]);
    }

    private static boolean isZombie(long pid) {
        String[] fields = statFields(pid);
        return fields == null || "Z".equals(fields[0]);
    }

    private static String[] statFields(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * A thread dump of the node's JVM (jcmd Thread.print), written to {@code threads-<millis>.txt} in the node's
     * folder — for a node that hangs; returns the file, or a sentence saying why there is none.
     */
    public String dumpThreads() {
        if (process == null) {
            return "(never started)";
        }
        for (long pid : processesInGroup(process.pid())) {
            String command = ProcessHandle.of(pid).flatMap(h -> h.info().command()).orElse("");
            if (command.endsWith("/java")) {
                Path file = home.resolve("threads-" + System.currentTimeMillis() + ".txt");
                try {
                    Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        Long.toString(pid), "Thread.print").redirectErrorStream(true).redirectOutput(file.toFile()).start();
                    if (!jcmd.waitFor(60, TimeUnit.SECONDS)) {
                        jcmd.destroyForcibly();
                    }
                    return file.toString();
                } catch (IOException e) {
                    return "(jcmd failed: " + e + ")";
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return "(interrupted)";
                }
            }
        }
        return "(no JVM in process group " + process.pid() + ")";
    }

    /** The last lines of the node's karaf.log, for failure messages. */
    public String logTail(int lines) {
        Path log = home.resolve("data/log/karaf.log");
        try {
            if (!Files.exists(log)) {
                return "(no " + log + " yet)";
            }
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Duration remaining(long deadline) {
        return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
    }

    static void exec(Duration timeout, String... command) {
        try {
            Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(child.getInputStream().readAllBytes());
            if (!child.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) || child.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static void openForOthers(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    public String name() {
        return name;
    }

    public Path home() {
        return home;
    }

    public Path datadir() {
        return datadir;
    }

    public int sshPort() {
        return sshPort;
    }

    public int postgresPort() {
        return postgresPort;
    }

    /** Karaf's RMI registry (rmiRegistryPort of etc/org.apache.karaf.management.cfg): the JMX connector's address. */
    public int rmiRegistryPort() {
        return rmiRegistryPort;
    }

    public int gatewayPort() {
        return gatewayPort;
    }

    public int transportPort() {
        return transportPort;
    }

    /** How peers and {@code mtm:init-cluster} reach this node's PostgreSQL. */
    public String conninfo() {
        return "host=127.0.0.1 port=" + postgresPort + " dbname=" + DATABASE + " user=" + DATABASE_USER;
    }

    /** The password of {@link #DATABASE_USER} on this node's PostgreSQL (and through its gateway). */
    public String databasePassword() {
        return databasePassword;
    }

    @Override
    public String toString() {
        return name + " (ssh " + sshPort + ", postgres " + postgresPort + ", transport " + transportPort + ", gateway " + gatewayPort + ")";
    }
}
