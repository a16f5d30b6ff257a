package org.mtm.itests.harness;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real PostgreSQL client programs (psql, pgbench) run against a port on the loopback (a node's gateway
 * or its PostgreSQL) as {@link KarafNode#DATABASE_USER} on {@link KarafNode#DATABASE}, with a deadline.
 * The binaries come from {@code -Dmtm.pgbin} or /usr/lib/postgresql/15/bin.
 */
public final class PgTools {
    public static final Path BIN = Path.of(System.getProperty("mtm.pgbin", "/usr/lib/postgresql/15/bin"));

    /** Exit code, both streams and the wall time of one run. */
    public record Result(int exitCode, String stdout, String stderr, long millis) {
        public boolean ok() {
            return exitCode == 0;
        }

        @Override
        public String toString() {
            return "exit " + exitCode + " after " + millis + " ms\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private PgTools() {
    }

    /** Runs {@code command} with {@code stdin} (may be null); kills it and fails when it outlives {@code timeout}. */
    public static Result run(List<String> command, String stdin, Duration timeout) {
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("PGCONNECT_TIMEOUT", "10");
        builder.environment().remove("PGPASSWORD");
        builder.environment().remove("PGPASSFILE");
        if (DatabasePasswords.pgpassFile() != null) {
            builder.environment().put("PGPASSFILE", DatabasePasswords.pgpassFile().toString());
        }
        builder.environment().remove("PGOPTIONS");
        long start = System.nanoTime();
        try {
            Process process = builder.start();
            CompletableFuture<String> out = drain(process.getInputStream());
            CompletableFuture<String> err = drain(process.getErrorStream());
            try (OutputStream in = process.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout
                    + "\n--- stdout so far\n" + out.getNow("") + "\n--- stderr so far\n" + err.getNow(""));
            }
            return new Result(process.exitValue(), out.join(), err.join(), (System.nanoTime() - start) / 1_000_000);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static CompletableFuture<String> drain(InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                stream.transferTo(bytes);
                return bytes.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "<" + e + ">";
            }
        });
    }

    /** libpq conninfo of {@code port} on the loopback. */
    public static String conninfo(int port) {
        return "host=127.0.0.1 port=" + port + " dbname=" + KarafNode.DATABASE + " user=" + KarafNode.DATABASE_USER;
    }

    /**
     * {@code psql -X -v ON_ERROR_STOP=1 [args]} on {@code port}, the script on stdin (each statement sent as psql
     * sends typed input: one simple Query per statement). Use {@code "-c", sql} in {@code args} for one simple
     * Query holding several statements.
     */
    public static Result psql(int port, String stdin, Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of(BIN.resolve("psql").toString(), "-X", "-v", "ON_ERROR_STOP=1",
            "-d", conninfo(port)));
        command.addAll(List.of(args));
        return run(command, stdin, timeout);
    }

    /** {@code pgbench -h 127.0.0.1 -p port -U user [args] database}. */
    public static Result pgbench(int port, Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of(BIN.resolve("pgbench").toString(),
            "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", KarafNode.DATABASE_USER));
        command.addAll(List.of(args));
        command.add(KarafNode.DATABASE);
        return run(command, null, timeout);
    }

    /** Rows of psql's {@code --csv} output (header line first) as column name to text; empty fields as "". */
    public static List<Map<String, String>> csv(String output) {
        List<List<String>> records = new ArrayList<>();
        List<String> record = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        String text = output.replace("\r\n", "\n");
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    field.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                record.add(field.toString());
                field.setLength(0);
            } else if (ch == '\n') {
                record.add(field.toString());
                field.setLength(0);
                records.add(record);
                record = new ArrayList<>();
            } else {
                field.append(ch);
            }
        }
        if (field.length() > 0 || !record.isEmpty()) {
            record.add(field.toString());
            records.add(record);
        }
        List<Map<String, String>> rows = new ArrayList<>();
        for (int r = 1; r < records.size(); r++) {
            Map<String, String> row = new LinkedHashMap<>();
            for (int c = 0; c < records.get(0).size(); c++) {
                row.put(records.get(0).get(c), c < records.get(r).size() ? records.get(r).get(c) : "");
            }
            rows.add(row);
        }
        return rows;
    }

    /** The header of psql's {@code --csv} output: the column names in order. */
    public static List<String> csvColumns(String output) {
        String header = output.lines().findFirst().orElse("");
        return header.isEmpty() ? List.of() : List.of(header.split(",", -1));
    }

    /** The figures pgbench prints after a run; absent ones are -1 (pgbench 15 prints the retry lines only with --max-tries). */
    public record PgbenchReport(long processed, long failed, long retried, long retries, double tps, double latencyMs,
                                String text) {
        private static final Pattern PROCESSED = Pattern.compile("number of transactions actually processed: (\\d+)");
        private static final Pattern FAILED = Pattern.compile("number of failed transactions: (\\d+)");
        private static final Pattern RETRIED = Pattern.compile("number of transactions retried: (\\d+)");
        private static final Pattern RETRIES = Pattern.compile("total number of retries: (\\d+)");
        private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)");
        private static final Pattern LATENCY = Pattern.compile("latency average = ([0-9.]+) ms");

        public static PgbenchReport parse(String stdout) {
            return new PgbenchReport(number(PROCESSED, stdout), number(FAILED, stdout), number(RETRIED, stdout),
                number(RETRIES, stdout), decimal(TPS, stdout), decimal(LATENCY, stdout), stdout);
        }

        private static long number(Pattern pattern, String text) {
            Matcher matcher = pattern.matcher(text);
            return matcher.find() ? Long.parseLong(matcher.group(1)) : -1;
        }

        private static double decimal(Pattern pattern, String text) {
            Matcher matcher = pattern.matcher(text);
            return matcher.find() ? Double.parseDouble(matcher.group(1)) : -1;
        }
    }
}
