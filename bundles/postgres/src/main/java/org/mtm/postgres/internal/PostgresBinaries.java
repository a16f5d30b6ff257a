package org.mtm.postgres.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL server programs (initdb, pg_ctl, postgres) of one installation, version 15 or newer.
 * Found in this order: an explicit directory, {@code pg_config --bindir} of the first pg_config on
 * PATH, the newest Debian-style {@code /usr/lib/postgresql/<N>/bin}.
 */
public final class PostgresBinaries {
    public static final int MIN_MAJOR = 15;
    static final List<String> PROGRAMS = List.of("initdb", "pg_ctl", "postgres");
    static final String NOT_FOUND = "no PostgreSQL " + MIN_MAJOR + "+ binaries found: set database.bindir in "
            + "etc/org.mtm.node.cfg or install postgresql-15 (apt-get install postgresql-15)";

    private static final Logger LOG = LoggerFactory.getLogger(PostgresBinaries.class);
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?");
    private static final Path DEBIAN_ROOT = Path.of("/usr/lib/postgresql");

    private final Path binDir;
    private final int major;
    private final String version;

    PostgresBinaries(Path binDir, int major, String version) {
        this.binDir = binDir;
        this.major = major;
        this.version = version;
    }

    public Path binDir() {
        return binDir;
    }

    public int major() {
        return major;
    }

    /** The first line of {@code postgres --version}. */
    public String version() {
        return version;
    }

    public Path program(String name) {
        return binDir.resolve(name);
    }

    /**
     * Locates the binaries.
     *
     * @param explicit a bin directory the operator named, or null to search
     * @throws IllegalStateException with what to do when none (or only an older version) is found
     */
    public static PostgresBinaries locate(Path explicit) {
        if (explicit != null) {
            List<String> missing = missingPrograms(explicit);
            if (!missing.isEmpty()) {
                throw new IllegalStateException("PostgreSQL bin directory " + explicit + " lacks " + missing
                        + ": set database.bindir to the bin directory of PostgreSQL " + MIN_MAJOR
                        + "+ (e.g. /usr/lib/postgresql/15/bin)");
            }
            return checked(explicit);
        }
        List<Path> candidates = new ArrayList<>();
        pgConfigBinDir().ifPresent(candidates::add);
        debianBinDirs().forEach(candidates::add);
        String tooOld = null;
        for (Path dir : candidates) {
            if (!missingPrograms(dir).isEmpty()) {
                LOG.debug("skipping {}: it lacks the server programs", dir);
                continue;
            }
            try {
                return checked(dir);
            } catch (IllegalStateException e) {
                tooOld = e.getMessage();
                LOG.debug("skipping {}: {}", dir, e.getMessage());
            }
        }
        throw new IllegalStateException(tooOld == null ? NOT_FOUND : NOT_FOUND + " (" + tooOld + ")");
    }

    private static PostgresBinaries checked(Path dir) {
        String output;
        try {
            output = ProcessRunner.run(List.of(dir.resolve("postgres").toString(), "--version"), null,
                    Duration.ofSeconds(30)).output().strip();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + dir.resolve("postgres") + " --version: " + e.getMessage()
                    + ": set database.bindir to the bin directory of PostgreSQL " + MIN_MAJOR + "+", e);
        }
        OptionalInt major = majorVersion(output);
        if (major.isEmpty()) {
            throw new IllegalStateException(dir.resolve("postgres") + " --version printed '" + output
                    + "', not a PostgreSQL version: set database.bindir to the bin directory of PostgreSQL "
                    + MIN_MAJOR + "+");
        }
        if (major.getAsInt() < MIN_MAJOR) {
            throw new IllegalStateException(dir + " holds PostgreSQL " + major.getAsInt() + " but mtm needs "
                    + MIN_MAJOR + " or newer: set database.bindir in etc/org.mtm.node.cfg or install postgresql-15");
        }
        return new PostgresBinaries(dir, major.getAsInt(), output.lines().findFirst().orElse(output));
    }

    /** The major version in {@code postgres --version} output ("postgres (PostgreSQL) 15.18 (Debian ...)"). */
    static OptionalInt majorVersion(String versionOutput) {
        Matcher m = VERSION.matcher(versionOutput == null ? "" : versionOutput);
        return m.find() ? OptionalInt.of(Integer.parseInt(m.group(1))) : OptionalInt.empty();
    }

    /** Of the version directory names under /usr/lib/postgresql, those of 15+, newest first. */
    static List<String> usableVersionDirs(List<String> names) {
        return names.stream()
                .filter(n -> n.matches("\\d+") && Integer.parseInt(n) >= MIN_MAJOR)
                .sorted(Comparator.comparingInt((String n) -> Integer.parseInt(n)).reversed())
                .toList();
    }

    /**
     * A bin directory with the client tools {@code tools}: the server's own first, else the newest found (pg_config's,
     * Debian's) — the embedded 16/17 server binaries have no client tools.
     */
    static Path clientToolsDir(Path serverBinDir, List<String> tools) {
        List<Path> candidates = new ArrayList<>();
        if (serverBinDir != null) {
            candidates.add(serverBinDir);
        }
        debianBinDirs().forEach(candidates::add);
        pgConfigBinDir().ifPresent(candidates::add);
        for (Path dir : candidates) {
            if (tools.stream().allMatch(t -> Files.isExecutable(dir.resolve(t)))) {
                return dir;
            }
        }
        throw new IllegalStateException("no PostgreSQL client tools " + tools + " found (looked in " + candidates
                + "): install the PostgreSQL client package of the source's major or newer");
    }

    static List<String> missingPrograms(Path dir) {
        return PROGRAMS.stream().filter(p -> !Files.isExecutable(dir.resolve(p))).toList();
    }

    private static Optional<Path> pgConfigBinDir() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String entry : path.split(":")) {
            if (entry.isEmpty()) {
                continue;
            }
            Path pgConfig = Path.of(entry, "pg_config");
            if (Files.isExecutable(pgConfig)) {
                try {
                    ProcessRunner.Result r = ProcessRunner.run(List.of(pgConfig.toString(), "--bindir"), null,
                            Duration.ofSeconds(30));
                    if (r.exitCode() == 0 && !r.output().isBlank()) {
                        return Optional.of(Path.of(r.output().strip()));
                    }
                } catch (IOException e) {
                    LOG.debug("{} --bindir failed: {}", pgConfig, e.getMessage());
                }
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    private static List<Path> debianBinDirs() {
        if (!Files.isDirectory(DEBIAN_ROOT)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(DEBIAN_ROOT)) {
            List<String> names = dirs.map(p -> p.getFileName().toString()).toList();
            return usableVersionDirs(names).stream().map(n -> DEBIAN_ROOT.resolve(n).resolve("bin")).toList();
        } catch (IOException e) {
            LOG.debug("cannot list {}: {}", DEBIAN_ROOT, e.getMessage());
            return List.of();
        }
    }

    @Override
    public String toString() {
        return binDir + " (" + version + ")";
    }
}
