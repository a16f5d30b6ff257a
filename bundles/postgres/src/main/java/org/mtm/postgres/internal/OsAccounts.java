package org.mtm.postgres.internal;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The OS side of running the server as another user: who we are, tools, ownership, access checks. */
final class OsAccounts {
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final List<String> SYSTEM_DIRS = List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin");

    private OsAccounts() {
    }

    static boolean jvmIsRoot() {
        try {
            // owner of /proc/self is this process's effective uid
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    static String jvmUser() {
        return System.getProperty("user.name");
    }

    /** Decides and resolves who runs the server for a configured OS user (null/empty = automatic). */
    static RunAs resolve(String configured) {
        boolean root = jvmIsRoot();
        RunAs decided = RunAs.decide(configured, jvmUser(), root, null, tool("runuser"), tool("setpriv"));
        if (!decided.switchesUser()) {
            return decided;
        }
        String group = primaryGroup(decided.user());
        return new RunAs(decided.user(), group, decided.how(), decided.tool());
    }

    static String tool(String name) {
        List<String> dirs = new ArrayList<>(SYSTEM_DIRS);
        String path = System.getenv("PATH");
        if (path != null) {
            dirs.addAll(List.of(path.split(":")));
        }
        for (String dir : dirs) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name).toString();
            }
        }
        return null;
    }

    private static String primaryGroup(String user) {
        try {
            ProcessRunner.Result r = ProcessRunner.run(List.of("id", "-gn", user), null, SHORT);
            if (!r.ok()) {
                throw new IllegalStateException("OS user '" + user + "' for PostgreSQL does not exist (id -gn: "
                        + r.output().strip() + "): create it (useradd --system " + user
                        + ") or set database.osuser to an existing unprivileged user");
            }
            return r.output().strip();
        } catch (IOException e) {
            throw new IllegalStateException("cannot look up OS user '" + user + "': " + e.getMessage(), e);
        }
    }

    /**
     * Hands {@code dir} (recursively, when its top is not already theirs) to the server's user, so a root
     * JVM's files become the server's. Does nothing when the JVM is that user.
     */
    static void handOver(Path dir, RunAs runAs) throws IOException {
        if (!runAs.switchesUser() || !Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        UserPrincipalLookupService lookup = dir.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal owner = lookup.lookupPrincipalByName(runAs.user());
        GroupPrincipal group = lookup.lookupPrincipalByGroupName(runAs.group());
        if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && owner.equals(Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS))) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                chown(d, owner, group);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                chown(f, owner, group);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Hands one file we wrote to the server's user. */
    static void handOverFile(Path file, RunAs runAs) throws IOException {
        if (runAs.switchesUser()) {
            UserPrincipalLookupService lookup = file.getFileSystem().getUserPrincipalLookupService();
            chown(file, lookup.lookupPrincipalByName(runAs.user()), lookup.lookupPrincipalByGroupName(runAs.group()));
        }
    }

    private static void chown(Path p, UserPrincipal owner, GroupPrincipal group) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        view.setOwner(owner);
        view.setGroup(group);
    }

    /**
     * Checks that the server's user can write {@code dir} and traverse every directory above it; names
     * the first directory in the way.
     */
    static void checkAccess(Path dir, RunAs runAs) throws IOException {
        if (!runAs.switchesUser()) {
            return;
        }
        Path abs = dir.toAbsolutePath();
        if (test(runAs, "-w", abs) && test(runAs, "-x", abs)) {
            return;
        }
        List<Path> chain = new ArrayList<>();
        for (Path p = abs; p != null; p = p.getParent()) {
            chain.add(0, p);
        }
        for (Path p : chain) {
            if (!test(runAs, "-x", p)) {
                throw new IllegalStateException("OS user '" + runAs.user() + "' cannot enter directory " + p
                        + " (" + describe(p) + ") on the way to the PostgreSQL data directory " + abs
                        + ": choose a database.datadir it can reach, or allow it (chmod o+x " + p + ")");
            }
        }
        throw new IllegalStateException("OS user '" + runAs.user() + "' cannot write the PostgreSQL data directory "
                + abs + " (" + describe(abs) + "): chown it to " + runAs.user() + " or choose another database.datadir");
    }

    private static boolean test(RunAs runAs, String flag, Path p) throws IOException {
        return ProcessRunner.run(runAs.wrap(List.of("test", flag, p.toString())), null, SHORT).ok();
    }

    private static String describe(Path p) {
        try {
            return "owner " + Files.getOwner(p).getName() + ", mode "
                    + PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
        } catch (IOException | UnsupportedOperationException e) {
            return "not readable: " + e.getMessage();
        }
    }
}
