package org.mtm.itests.harness;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * N real nodes from the distribution (system property {@code mtm.assembly}), each with its managed
 * PostgreSQL, unpacked under {@code mtm.work/<name>}, started and ready (PostgreSQL up, console answering) —
 * but not initialised: {@link #initThroughConsole} or the test's own {@code mtm.init_cluster} makes them one
 * cluster. Node {@code i} (1-based) gets node id {@code i} when initialised in list order.
 */
public final class LocalCluster implements AutoCloseable {
    /** A node boots in 20–40 s on a busy 2-core machine; one that takes longer than this hangs. */
    public static final Duration BOOT = Duration.ofMinutes(2);

    static {
        preloadHarness();
    }

    private final String name;
    private final List<KarafNode> nodes;
    private final Path postgresRoot;
    /** Where {@link #addNode} unpacks a node from, and the cluster secret it shares (set by {@link #boot}). */
    private Path assembly;
    private Path work;
    private String clusterSecret;

    /** Stops the nodes when the test JVM ends without closing the cluster (a fork killed on timeout, a crash). */
    private final Thread shutdownHook;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private LocalCluster(String name, List<KarafNode> nodes, Path postgresRoot) {
        this.name = name;
        this.nodes = nodes;
        this.postgresRoot = postgresRoot;
        this.shutdownHook = new Thread(this::close, "stop-" + name);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Creates, starts and waits for {@code count} nodes; stops what it started when one does not come up. A node that
     * does not come up within {@link #BOOT} gets a thread dump in its folder and is started once more from a fresh copy
     * (folder {@code node<i>-boot2}): a Karaf boot that hangs is not what the cluster tests are about, but it is logged.
     */
    public static LocalCluster boot(String name, int count) {
        return boot(name, count, node -> { });
    }

    /** As {@link #boot(String, int)}, with {@code configure} applied to each node before its first start. */
    public static LocalCluster boot(String name, int count, Consumer<KarafNode> configure) {
        Path assembly = Path.of(System.getProperty("mtm.assembly", "target/mtm-karaf-assembly.tar.gz"));
        Path work = Path.of(System.getProperty("mtm.work", "target/mtm-work")).resolve(name);
        Path postgresRoot = KarafNode.postgresRoot("mtm-" + name + "-");
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String clusterSecret = HexFormat.of().formatHex(secret);
        List<KarafNode> nodes = new CopyOnWriteArrayList<>(Collections.nCopies(count, (KarafNode) null));
        LocalCluster cluster = new LocalCluster(name, nodes, postgresRoot);
        cluster.assembly = assembly;
        cluster.work = work;
        cluster.clusterSecret = clusterSecret;
        try {
            List<Integer> slots = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                slots.add(i);
            }
            parallel(slots, i -> {
                String nodeName = "node" + (i + 1);
                KarafNode node = KarafNode.create(nodeName, assembly, work.resolve(nodeName), postgresRoot, clusterSecret);
                configure.accept(node);
                nodes.set(i, node);
                node.start();
                try {
                    awaitUp(node);
                } catch (AssertionError | RuntimeException first) {
                    String dump = node.dumpThreads();
                    System.out.println("[LocalCluster] WARNING " + name + "/" + nodeName + " did not come up (" + first.getMessage()
                        + "); thread dump: " + dump + "; starting it once more from a fresh copy");
                    node.close();
                    KarafNode again = KarafNode.create(nodeName, assembly, work.resolve(nodeName + "-boot2"), postgresRoot, clusterSecret);
                    configure.accept(again);
                    nodes.set(i, again);
                    again.start();
                    awaitUp(again);
                }
            });
            return cluster;
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }

    private static void awaitUp(KarafNode node) {
        node.awaitReady(BOOT);
        awaitGateway(node);
    }

    /**
     * The node's gateway accepts connections (it starts with the local database, after the console) and knows the
     * node's cluster state: until the consensus bundle has loaded it, every query is refused (57P03 "node is
     * starting"); afterwards a query runs, or is refused because the node is not online.
     */
    static void awaitGateway(KarafNode node) {
        try {
            Poll.until(node.name() + ": gateway on port " + node.gatewayPort(), Duration.ofSeconds(60), Duration.ofMillis(250),
                () -> accepts(node.gatewayPort()));
            Poll.until(node.name() + ": gateway knows the node's cluster state", Duration.ofSeconds(60), Duration.ofMillis(100),
                () -> knowsClusterState(node.gatewayPort()));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n--- last lines of " + node.name() + "'s karaf.log:\n" + node.logTail(40), e);
        }
    }

    private static boolean knowsClusterState(int port) {
        try {
            Sql.scalar(port, "SELECT 1");
            return true;
        } catch (java.sql.SQLException e) {
            String m = String.valueOf(e.getMessage());
            return !m.contains("node is starting") && !m.contains("cluster state service is not running");
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

    /** Runs {@code action} on every item (node) at once; rethrows the first failure. */
    public static <T> void parallel(List<T> items, Consumer<T> action) {
        try {
            CompletableFuture.allOf(items.stream().map(item -> CompletableFuture.runAsync(() -> action.accept(item)))
                .toArray(CompletableFuture[]::new)).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    /**
     * {@code mtm:init-cluster} on node 1 with every node's conninfo in order, retried while peers have not yet
     * advertised their transport (init is idempotent for one node list); returns the command's output.
     */
    public String initThroughConsole(Duration timeout) {
        String command = "mtm:init-cluster " + nodes.stream().map(node -> '"' + node.conninfo() + '"').collect(Collectors.joining(" "));
        return Poll.until("'" + command + "' on node1", timeout, Duration.ofMillis(250), () -> nodes.get(0).tryExecute(command),
            result -> result.ok() && result.output().contains("cluster initialised")).output();
    }

    /**
     * Waits until every node reports, through {@code SELECT * FROM mtm.status()} on its own PostgreSQL,
     * status online in one and the same generation with every node connected and a member; returns that
     * generation number.
     */
    public long awaitAllOnline(Duration timeout) {
        Set<Integer> all = new TreeSet<>();
        for (int i = 1; i <= nodes.size(); i++) {
            all.add(i);
        }
        long[] generation = new long[1];
        Poll.until("every node of " + name + " online in one generation with " + all + " connected", timeout, Duration.ofMillis(250), () -> {
            Set<String> generations = new TreeSet<>();
            for (KarafNode node : nodes) {
                Map<String, String> row = status(node);
                if (!"online".equals(row.get("status")) || !all.equals(NodeSets.parse(row.get("connected")))
                    || !all.equals(NodeSets.parse(row.get("gen_members")))) {
                    return node.name() + ": " + row;
                }
                generations.add(row.get("gen_num"));
            }
            if (generations.size() != 1) {
                return "generations differ: " + generations;
            }
            generation[0] = Long.parseLong(generations.iterator().next());
            return "ok";
        }, "ok"::equals);
        return generation[0];
    }

    /** The single row of {@code SELECT * FROM mtm.status()} on {@code node}'s own PostgreSQL. */
    public static Map<String, String> status(KarafNode node) throws java.sql.SQLException {
        List<Map<String, String>> rows = Sql.rows(node.postgresPort(), "SELECT * FROM mtm.status()");
        if (rows.size() != 1) {
            throw new AssertionError(node.name() + ": mtm.status() returned " + rows);
        }
        return rows.get(0);
    }

    public List<KarafNode> nodes() {
        return nodes;
    }

    /**
     * A new node {@code node<N+1>} of this cluster (mtm.add_node), created with {@code configure} but not started: its
     * ports (its PostgreSQL's conninfo) are known before it runs. It is one of {@link #nodes()} from now on (closed
     * with the others). Start it with {@link #startAdded}.
     */
    public KarafNode addNode(Consumer<KarafNode> configure) {
        if (assembly == null) {
            throw new IllegalStateException("addNode needs a cluster made by boot()");
        }
        String nodeName = "node" + (nodes.size() + 1);
        KarafNode node = KarafNode.create(nodeName, assembly, work.resolve(nodeName), postgresRoot, clusterSecret);
        configure.accept(node);
        nodes.add(node);
        return node;
    }

    /** Starts a node of {@link #addNode} and waits until its console and gateway answer. */
    public void startAdded(KarafNode node) {
        node.start();
        awaitUp(node);
    }

    /** Node {@code id}, 1-based. */
    public KarafNode node(int id) {
        return nodes.get(id - 1);
    }

    public int size() {
        return nodes.size();
    }

    /** The last {@code lines} of every node's karaf.log, for failure reports. */
    public String logTails(int lines) {
        StringBuilder text = new StringBuilder();
        for (KarafNode node : nodes) {
            text.append("--- ").append(node.name()).append(" ").append(node.home().resolve("data/log/karaf.log")).append('\n')
                .append(node.logTail(lines)).append('\n');
        }
        return text.toString();
    }

    /**
     * Stops every node at once (their PostgreSQL servers with them) and deletes the data directories; karaf.log
     * stays, and each server's log is kept as {@code postgresql.log} in the node's folder.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs or ran already
            }
        }
        try {
            parallel(nodes.stream().filter(java.util.Objects::nonNull).toList(), KarafNode::close);
        } finally {
            nodes.stream().filter(java.util.Objects::nonNull).forEach(LocalCluster::keepServerLog);
            KarafNode.deletePostgresRoot(postgresRoot);
        }
    }

    /**
     * Loads every class of this harness now. On a build machine shared with other builds the harness jar in the local
     * Maven repository can be overwritten while a test runs; a class first needed at the end (stopping the nodes)
     * then fails with NoClassDefFoundError and leaves three Karaf nodes and their servers running.
     */
    private static void preloadHarness() {
        try {
            var source = LocalCluster.class.getProtectionDomain().getCodeSource();
            if (source == null) {
                return;
            }
            Path location = Path.of(source.getLocation().toURI());
            List<String> names = new ArrayList<>();
            String prefix = LocalCluster.class.getPackageName().replace('.', '/') + "/";
            if (Files.isDirectory(location)) {
                try (var files = Files.walk(location.resolve(prefix))) {
                    files.map(f -> location.relativize(f).toString()).filter(f -> f.endsWith(".class")).forEach(names::add);
                }
            } else {
                try (var jar = new java.util.jar.JarFile(location.toFile())) {
                    jar.stream().map(java.util.jar.JarEntry::getName).filter(n -> n.startsWith(prefix) && n.endsWith(".class"))
                        .forEach(names::add);
                }
            }
            for (String file : names) {
                Class.forName(file.substring(0, file.length() - ".class".length()).replace('/', '.'), false,
                    LocalCluster.class.getClassLoader());
            }
        } catch (Exception | LinkageError e) {
            System.err.println("[LocalCluster] could not preload the harness classes: " + e);
        }
    }

    /** Copies the managed server's log next to karaf.log before the data directory goes. */
    private static void keepServerLog(KarafNode node) {
        Path log = node.datadir().resolve("log/postgresql.log");
        try {
            if (Files.isReadable(log)) {
                Files.copy(log, node.home().resolve("postgresql.log"), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            System.err.println("cannot keep " + log + ": " + e);
        }
    }

    @Override
    public String toString() {
        return name + " " + nodes;
    }
}
