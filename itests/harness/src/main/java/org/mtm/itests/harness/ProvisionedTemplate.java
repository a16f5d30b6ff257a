package org.mtm.itests.harness;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The distribution unpacked and started once with its boot features installed (Karaf's first start: resolving and
 * installing ~90 bundles, 10–17 s of a node's 20–40 s boot on the 2-core build machine), then stopped and kept (see
 * {@link #folder}) as {@code .karaf-template-<assembly size>-<assembly mtime>}; making it takes 25–35 s, once per build
 * of the distribution. Nodes are copies of it: their first start
 * is Karaf's restart path (bundles and configurations from the cache) with everything else of a first start — etc/ is
 * the distribution's own (so bin/setenv generates the console password, the node's settings are written by the
 * harness) and the managed PostgreSQL is initdb'd by the node.
 *
 * <p>The template's run is no node: unmanaged database pointing at a port nothing listens on (no PostgreSQL starts),
 * ports of its own. What a copy keeps of it: Karaf's bundle cache and features state, and the SSH host key Karaf
 * generated ({@code etc/host.key}; the harness' SSH client accepts any host key). A node that chooses another role
 * ({@link KarafNode#role}) drops the copied {@code data/} first: Karaf reads the boot features on a first start only.
 *
 * <p>{@code -Dmtm.template=false} unpacks every node from the tarball instead (as before session 20). When making the
 * template fails, the nodes of this JVM are unpacked from the tarball and the reason is printed.
 */
final class ProvisionedTemplate {
    private static final String PREFIX = ".karaf-template-";
    /** Karaf files of a stopped run that are not the bundle cache. */
    private static final List<String> RUN_FILES = List.of("karaf.out", "karaf.pid", "lock", "instances", "data/log", "data/tmp",
        "data/port", "data/pax-web", "data/generated-bundles", "data/postgres");

    private static Path template;
    private static String unusable;

    private ProvisionedTemplate() {
    }

    static boolean enabled() {
        return Boolean.parseBoolean(System.getProperty("mtm.template", "true"));
    }

    /** A provisioned copy of {@code assembly}, made now when there is none; null when none can be made (see stderr). */
    static synchronized Path of(Path assembly) {
        if (!enabled() || unusable != null) {
            return null;
        }
        try {
            Path work = folder();
            Files.createDirectories(work);
            String key = Files.size(assembly) + "-" + Files.getLastModifiedTime(assembly).toMillis();
            Path dir = work.resolve(PREFIX + key);
            if (dir.equals(template) && Files.isDirectory(dir)) {
                return dir; // made from this very distribution (a test may pass another tarball: it gets its own)
            }
            // one JVM at a time makes it (test classes of one module run one after the other, modules may not)
            try (FileChannel channel = FileChannel.open(work.resolve(".karaf-template.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
                 FileLock lock = channel.lock()) {
                if (!Files.isDirectory(dir)) {
                    long start = System.nanoTime();
                    make(assembly, work, dir);
                    System.out.println("[ProvisionedTemplate] " + dir + " made in " + (System.nanoTime() - start) / 1_000_000 + " ms");
                }
            }
            template = dir;
            return dir;
        } catch (IOException | RuntimeException | AssertionError e) {
            unusable = e.toString();
            System.err.println("[ProvisionedTemplate] WARNING no provisioned template (" + e + "); nodes are unpacked from "
                + assembly);
            e.printStackTrace();
            return null;
        }
    }

    /**
     * Where templates are kept: {@code mtm.template.dir} (itests/pom.xml: the checkout's target/, so that the modules
     * of one build share one), else {@code mtm.work}.
     */
    private static Path folder() {
        String dir = System.getProperty("mtm.template.dir", "");
        if (dir.isBlank() || dir.contains("${")) {
            dir = System.getProperty("mtm.work", "target/mtm-work");
        }
        return Path.of(dir).toAbsolutePath();
    }

    private static void make(Path assembly, Path work, Path dir) throws IOException {
        try (Stream<Path> old = Files.list(work)) {
            for (Path p : old.filter(p -> p.getFileName().toString().startsWith(PREFIX)).toList()) {
                KarafNode.deleteTree(p); // templates of earlier builds of the distribution
            }
        }
        Path tmp = work.resolve(PREFIX + "making");
        Path pristine = work.resolve(PREFIX + "pristine");
        KarafNode.deleteTree(tmp);
        KarafNode.deleteTree(pristine);
        Files.createDirectories(tmp);
        Files.createDirectories(pristine);
        KarafNode.exec(Duration.ofMinutes(2), "tar", "xzf", assembly.toString(), "-C", tmp.toString(), "--strip-components=1");
        KarafNode.exec(Duration.ofMinutes(2), "tar", "xzf", assembly.toString(), "-C", pristine.toString(), "--strip-components=1");
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        KarafNode run = KarafNode.forTemplate(tmp, HexFormat.of().formatHex(secret));
        try {
            run.start();
            // both stages of featuresBoot installed and started (mtm-node is the last one)
            Poll.until("template Karaf " + tmp + ": boot features installed", Duration.ofMinutes(3), Duration.ofMillis(250),
                () -> run.console().execute("feature:list -i --no-format", Duration.ofSeconds(20)),
                r -> r.ok() && r.output().lines().anyMatch(l -> l.startsWith("mtm-node") && l.contains("Started")));
        } catch (RuntimeException | AssertionError e) {
            throw new IllegalStateException("the template Karaf did not come up: " + e.getMessage() + "\n" + run.logTail(40), e);
        } finally {
            run.stop(Duration.ofSeconds(60));
        }
        if (run.groupAlive()) {
            throw new IllegalStateException("the template Karaf did not stop");
        }
        for (String file : RUN_FILES) {
            KarafNode.deleteTree(tmp.resolve(file));
        }
        // etc/ as shipped, but for the SSH host key Karaf generated
        Path etc = tmp.resolve("etc");
        Path keep = work.resolve(PREFIX + "keys");
        KarafNode.deleteTree(keep);
        Files.createDirectories(keep);
        for (String key : List.of("host.key", "host.key.pub")) {
            if (Files.exists(etc.resolve(key))) {
                Files.move(etc.resolve(key), keep.resolve(key));
            }
        }
        KarafNode.deleteTree(etc);
        Files.move(pristine.resolve("etc"), etc);
        try (Stream<Path> keys = Files.list(keep)) {
            for (Path key : keys.toList()) {
                Files.move(key, etc.resolve(key.getFileName()));
            }
        }
        KarafNode.deleteTree(keep);
        KarafNode.deleteTree(pristine);
        Files.createDirectories(tmp.resolve("data/tmp")); // as shipped
        Files.move(tmp, dir);
    }

    /**
     * {@code home} (empty) becomes a copy of the template. The configuration admin's store names the template's folder
     * (each PID's etc/ file, paths such as the SSH host key's): it names {@code home} in the copy. On the copy's first
     * start Felix fileinstall finds the etc/ files changed (the node's ports, its database, the cluster secret) and updates
     * those PIDs before the bundles that use them start, as after an edit of etc/ while a node is stopped.
     */
    static void copy(Path template, Path home) {
        KarafNode.exec(Duration.ofMinutes(2), "cp", "-a", template + "/.", home.toString());
        String from = template.resolveSibling(PREFIX + "making").toAbsolutePath().toString();
        String to = home.toAbsolutePath().toString();
        try (Stream<Path> walk = Files.walk(home.resolve("data/cache"))) {
            for (Path file : walk.filter(p -> p.toString().endsWith(".config") && p.toString().contains("/data/config/")).toList()) {
                String text = Files.readString(file);
                if (text.contains(from)) {
                    Files.writeString(file, text.replace(from, to));
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot copy the provisioned template into " + home, e);
        }
    }
}
