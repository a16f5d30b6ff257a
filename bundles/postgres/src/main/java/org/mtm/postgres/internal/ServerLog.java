package org.mtm.postgres.internal;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Reads the end of a server log for error messages. */
final class ServerLog {
    private static final int TAIL_BYTES = 16 * 1024;

    private ServerLog() {
    }

    /** The last {@code n} lines of {@code file}, or a note saying why there are none. */
    static String tail(Path file, int n) {
        if (!Files.isRegularFile(file)) {
            return "(no server log at " + file + ")";
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long start = Math.max(0, f.length() - TAIL_BYTES);
            byte[] buf = new byte[(int) (f.length() - start)];
            f.seek(start);
            f.readFully(buf);
            List<String> lines = new String(buf, StandardCharsets.UTF_8).lines().toList();
            if (start > 0 && !lines.isEmpty()) {
                lines = lines.subList(1, lines.size()); // first one is cut
            }
            return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        } catch (IOException e) {
            return "(cannot read server log " + file + ": " + e.getMessage() + ")";
        }
    }
}
