package org.mtm.postgres.internal;

import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a program to completion with a deadline, capturing stdout and stderr together. */
final class ProcessRunner {

    record Result(int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    private ProcessRunner() {
    }

    /**
     * Runs {@code argv} in {@code workDir} (or "/" when null: the JVM's own directory may not be readable
     * by the server's OS user). Output goes through a temp file, not a pipe: pg_ctl's server child could
     * otherwise keep a pipe open and make the read hang. PG* variables of the JVM's environment are
     * removed so they cannot redirect the tools to another server.
     *
     * @throws IOException when the program cannot start or exceeds {@code timeout} (it is then killed)
     */
    static Result run(List<String> argv, Path workDir, Duration timeout) throws IOException {
        File out = File.createTempFile("mtm-proc", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(argv)
                    .directory((workDir == null ? Path.of("/") : workDir).toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(out)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
            Process p = pb.start();
            try {
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    throw new IOException(String.join(" ", argv) + " did not finish within " + timeout.toSeconds()
                            + " s; its output: " + read(out));
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while running " + String.join(" ", argv));
            }
            return new Result(p.exitValue(), read(out));
        } finally {
            Files.deleteIfExists(out.toPath());
        }
    }

    private static String read(File f) throws IOException {
        // lenient: server messages need not be valid UTF-8
        return new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8);
    }
}
