package org.mtm.itests.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The PostgreSQL server of a data directory, found through {@code postmaster.pid}. A node's managed
 * server survives a kill -9 of its Karaf (pg_ctl detaches it), so tests stop it here.
 */
public final class Postmaster {
    private Postmaster() {
    }

    /** The pid of the running postmaster of {@code datadir}, if any. */
    public static Optional<ProcessHandle> of(Path datadir) {
        Path pidFile = datadir.resolve("postmaster.pid");
        try {
            if (!Files.isReadable(pidFile)) {
                return Optional.empty();
            }
            List<String> lines = Files.readAllLines(pidFile);
            if (lines.isEmpty() || lines.get(0).isBlank()) {
                return Optional.empty();
            }
            return ProcessHandle.of(Long.parseLong(lines.get(0).trim())).filter(ProcessHandle::isAlive);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** The port recorded in {@code postmaster.pid} (line 4), if the server runs. */
    public static Optional<Integer> port(Path datadir) {
        try {
            List<String> lines = Files.readAllLines(datadir.resolve("postmaster.pid"));
            return lines.size() > 3 ? Optional.of(Integer.parseInt(lines.get(3).trim())) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * A crash of the server: SIGKILL of the postmaster and of its children (they would linger until they notice);
     * returns the pid that was killed, if a server ran.
     */
    public static Optional<Long> kill(Path datadir) {
        Optional<ProcessHandle> postmaster = of(datadir);
        postmaster.ifPresent(process -> {
            List<ProcessHandle> children = process.children().toList();
            Signals.send("KILL", process.pid());
            children.forEach(child -> Signals.send("KILL", child.pid()));
        });
        return postmaster.map(ProcessHandle::pid);
    }

    /** Fast shutdown (SIGINT), then SIGKILL when it is still there after {@code grace}. */
    public static void stop(Path datadir, Duration grace) {
        Optional<ProcessHandle> postmaster = of(datadir);
        if (postmaster.isEmpty()) {
            return;
        }
        ProcessHandle process = postmaster.get();
        Signals.send("INT", process.pid());
        long deadline = System.nanoTime() + grace.toNanos();
        while (process.isAlive() && System.nanoTime() < deadline) {
            Signals.pause(Duration.ofMillis(100));
        }
        if (process.isAlive()) {
            Signals.send("KILL", process.pid());
        }
    }
}
