package org.mtm.postgres.internal;

import java.util.List;
import java.util.Optional;

/**
 * The lock file {@code postmaster.pid} a running server keeps in its data directory: pid, data
 * directory, start time, port, socket directory, listen address, shared memory key, status.
 */
public record PostmasterPid(long pid, String dataDir, int port, String listenAddress, String status) {

    public static final String FILE = "postmaster.pid";

    /** Parses the file's text; empty when it is incomplete (the server is still writing it). */
    public static Optional<PostmasterPid> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        List<String> lines = text.lines().toList();
        if (lines.size() < 4) {
            return Optional.empty();
        }
        try {
            long pid = Long.parseLong(lines.get(0).strip());
            int port = Integer.parseInt(lines.get(3).strip());
            String listen = lines.size() > 5 ? lines.get(5).strip() : "";
            String status = lines.size() > 7 ? lines.get(7).strip() : "";
            return Optional.of(new PostmasterPid(pid, lines.get(1).strip(), port, listen, status));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** True once a shutdown has begun: the postmaster refuses new connections until it exits. */
    public boolean stopping() {
        return status.equals("stopping");
    }

    /** True once the postmaster accepts connections ("ready"), false while starting or stopping. */
    public boolean ready() {
        return status.equals("ready");
    }
}
