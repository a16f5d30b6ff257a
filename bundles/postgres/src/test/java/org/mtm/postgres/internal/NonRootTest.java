package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.Rule;
import org.junit.Test;

/**
 * The path a non-root Karaf takes: no runuser, the server runs as the JVM's own user. Here (root) a
 * child JVM runs as {@code postgres}; under a non-root build the suite itself is that path.
 */
public class NonRootTest {
    @Rule
    public final TestDirs dirs = new TestDirs();

    @Test
    public void serverRunsAsTheJvmsOwnUserWhenNotRoot() throws Exception {
        Path root = dirs.newDir();
        Path data = root.resolve("home/data");
        String expectedUser;
        String out;
        if (OsAccounts.jvmIsRoot()) {
            expectedUser = "postgres";
            Path home = Files.createDirectories(root.resolve("home"));
            dirs.track(ManagedPostgres.builder().dataDirectory(data).build()); // stops it should the child fail
            Path cp = Files.createDirectories(root.resolve("cp"));
            List<String> classpath = new ArrayList<>();
            for (Class<?> c : List.of(NonRootMain.class, ManagedPostgres.class, org.mtm.api.Conninfo.class,
                    org.postgresql.Driver.class, org.slf4j.LoggerFactory.class, org.slf4j.impl.StaticLoggerBinder.class)) {
                classpath.add(copy(location(c), cp).toString());
            }
            OsAccounts.handOver(home, RunAs.decide(null, "root", true, "postgres", "/usr/sbin/runuser", null));
            OsAccounts.handOver(cp, RunAs.decide(null, "root", true, "postgres", "/usr/sbin/runuser", null));
            String java = ProcessHandle.current().info().command().orElseThrow();
            ProcessRunner.Result r = ProcessRunner.run(List.of(OsAccounts.tool("runuser"), "-u", "postgres", "--",
                    java, "-cp", String.join(":", classpath), NonRootMain.class.getName(), data.toString()),
                    null, Duration.ofSeconds(120));
            assertEquals(r.output(), 0, r.exitCode());
            out = r.output();
        } else {
            expectedUser = System.getProperty("user.name");
            out = NonRootMain.run(data);
        }
        assertTrue(out, out.contains("jvm=" + expectedUser + " root=false os=" + expectedUser
                + " postmaster=" + expectedUser + " db=mydb wal_level=logical"));
        assertEquals(expectedUser, Files.getOwner(data).getName());
    }

    private static Path location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** Copies a jar or a class directory where the unprivileged user can read it. */
    private static Path copy(Path source, Path into) throws IOException {
        Path target = into.resolve(Files.isDirectory(source) ? "dir" + into.toFile().list().length : source.getFileName().toString());
        try (Stream<Path> all = Files.walk(source)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Path t = target.resolve(source.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                }
                Files.setPosixFilePermissions(t, PosixFilePermissions.fromString(Files.isDirectory(t) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        return target;
    }
}
