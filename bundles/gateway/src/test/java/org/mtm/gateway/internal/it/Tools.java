package org.mtm.gateway.internal.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.mtm.api.Endpoint;

/** The PostgreSQL 15 client programs (psql, pgbench) run against an endpoint, with a deadline. */
final class Tools {
    static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");

    record Result(int exitCode, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private Tools() {
    }

    static Result run(List<String> command, Map<String, String> env, String stdin, Duration timeout) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        pb.environment().put("PGCONNECT_TIMEOUT", "10");
        pb.environment().remove("PGPASSWORD");
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            CompletableFuture<String> out = drain(p.getInputStream());
            CompletableFuture<String> err = drain(p.getErrorStream());
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(command.get(0) + " did not finish within " + timeout);
            }
            return new Result(p.exitValue(), out.join(), err.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static CompletableFuture<String> drain(InputStream s) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                s.transferTo(b);
                return b.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "<" + e + ">";
            }
        });
    }

    /** psql -X -v ON_ERROR_STOP=1 with a conninfo for {@code at}, then {@code args}. */
    static Result psql(Endpoint at, String extraConninfo, String stdin, String... args) {
        List<String> cmd = new ArrayList<>(List.of(BIN.resolve("psql").toString(), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "-d", conninfo(at) + (extraConninfo == null ? "" : " " + extraConninfo)));
        cmd.addAll(List.of(args));
        return run(cmd, Map.of(), stdin, Duration.ofSeconds(30));
    }

    static String conninfo(Endpoint at) {
        return "host=" + at.host() + " port=" + at.port() + " dbname=" + TestPostgres.DATABASE + " user=" + TestPostgres.USER;
    }

    static Result pgbench(Endpoint at, Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of(BIN.resolve("pgbench").toString(),
                "-h", at.host(), "-p", Integer.toString(at.port()), "-U", TestPostgres.USER));
        cmd.addAll(List.of(args));
        cmd.add(TestPostgres.DATABASE);
        return run(cmd, Map.of(), null, timeout);
    }

    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)");
    private static final Pattern PROCESSED = Pattern.compile("number of transactions actually processed: (\\d+)");

    static double tps(Result r) {
        Matcher m = TPS.matcher(r.stdout());
        if (!m.find()) {
            throw new AssertionError("no tps in pgbench output: " + r);
        }
        return Double.parseDouble(m.group(1));
    }

    static long processed(Result r) {
        Matcher m = PROCESSED.matcher(r.stdout());
        if (!m.find()) {
            throw new AssertionError("no transaction count in pgbench output: " + r);
        }
        return Long.parseLong(m.group(1));
    }
}
