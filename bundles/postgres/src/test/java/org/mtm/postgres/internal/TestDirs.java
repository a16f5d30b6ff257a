package org.mtm.postgres.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.rules.ExternalResource;

/**
 * Temp directories under /tmp that the server's OS user can traverse (mode 755, unlike
 * TemporaryFolder's 700); stops the servers registered with it, then deletes everything.
 */
public final class TestDirs extends ExternalResource {
    private final List<Path> roots = new ArrayList<>();
    private final List<ManagedPostgres> servers = new ArrayList<>();

    public Path newDir() throws IOException {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "mtm-pg-test-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        roots.add(dir);
        return dir;
    }

    /**
     * A started small server (16 MB shared buffers, 20 connections) in a new directory, stopped after the test;
     * {@code settings} are more server settings as name, value, name, value...
     */
    public ManagedPostgres startSmallServer(String... settings) throws IOException {
        ManagedPostgres.Builder b = ManagedPostgres.builder().dataDirectory(newDir()).setting("shared_buffers", "16MB")
            .maxConnections(20);
        for (int i = 0; i + 1 < settings.length; i += 2) {
            b.setting(settings[i], settings[i + 1]);
        }
        ManagedPostgres pg = track(b.build());
        pg.start();
        return pg;
    }

    /** Stops (kills, if stopping fails) {@code pg} after the test. */
    public ManagedPostgres track(ManagedPostgres pg) {
        servers.add(pg);
        return pg;
    }

    @Override
    protected void after() {
        for (ManagedPostgres pg : servers) {
            try {
                pg.stop();
            } catch (RuntimeException e) {
                pg.kill();
            }
        }
        for (Path root : roots) {
            try (Stream<Path> all = Files.walk(root)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // best effort: /tmp is cleaned eventually
            }
        }
    }
}
