package org.mtm.itests.harness.regress;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.PgTools;

/**
 * One regression file through psql as pg_regress runs it (PostgreSQL 15's pg_regress_main.c and pg_regress.c):
 * {@code psql -X -a -q -d <db> < file > out 2>&1}, with PGTZ=PST8PDT, PGDATESTYLE="Postgres, MDY",
 * PGAPPNAME=pg_regress/<test>, the C locale for the client, and PG_ABS_SRCDIR / PG_ABS_BUILDDIR / PG_LIBDIR /
 * PG_DLSUFFIX for the scripts' {@code \getenv}. The database itself has the C locale (lc_messages, lc_monetary,
 * lc_numeric, lc_time are C, as pg_regress sets them), bytea_output and timezone_abbreviations at their defaults.
 */
public final class RegressPsql {
    private final Path srcdir;
    private final Path builddir;
    private final Path libdir;
    private final Duration timeout;
    /** libpq's PGOPTIONS for every connection psql makes (\c too); null: none. */
    private final String options;

    /**
     * {@code srcdir} holds data/ (read by the servers), {@code builddir} a results/ folder the servers may write,
     * {@code libdir} where regress.so would be (it is not: the C functions fail alike on both servers).
     */
    public RegressPsql(Path srcdir, Path builddir, Path libdir, Duration timeout) {
        this(srcdir, builddir, libdir, timeout, null);
    }

    /** With {@code options} as PGOPTIONS (e.g. {@code -c mtm.volkswagen_mode=on}) for every connection psql makes. */
    public RegressPsql(Path srcdir, Path builddir, Path libdir, Duration timeout, String options) {
        this.srcdir = srcdir;
        this.builddir = builddir;
        this.libdir = libdir;
        this.timeout = timeout;
        this.options = options;
    }

    /** psql's output (stdout and stderr in one stream, as pg_regress takes it) for {@code script} on {@code port}. */
    public Output run(String test, Path script, int port) {
        ProcessBuilder builder = new ProcessBuilder(List.of(PgTools.BIN.resolve("psql").toString(), "-X", "-a", "-q", "-d",
            "host=127.0.0.1 port=" + port + " dbname=" + KarafNode.DATABASE + " user=" + KarafNode.DATABASE_USER));
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(name -> name.startsWith("PG") || name.startsWith("LC_") || name.equals("LANGUAGE"));
        env.put("LANG", "C");
        env.put("LC_ALL", "C");
        env.put("PGTZ", "PST8PDT");
        env.put("PGDATESTYLE", "Postgres, MDY");
        env.put("PGAPPNAME", "pg_regress/" + test);
        env.put("PGCONNECT_TIMEOUT", "10");
        if (options != null) {
            env.put("PGOPTIONS", options);
        }
        if (org.mtm.itests.harness.DatabasePasswords.pgpassFile() != null) {
            env.put("PGPASSFILE", org.mtm.itests.harness.DatabasePasswords.pgpassFile().toString());
        }
        env.put("PG_ABS_SRCDIR", srcdir.toString());
        env.put("PG_ABS_BUILDDIR", builddir.toString());
        env.put("PG_LIBDIR", libdir.toString());
        env.put("PG_DLSUFFIX", ".so");
        builder.redirectInput(script.toFile()).redirectErrorStream(true);
        long start = System.nanoTime();
        try {
            Process process = builder.start();
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
                try {
                    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                    process.getInputStream().transferTo(bytes);
                    return bytes.toString(StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return "<" + e + ">";
                }
            });
            boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            String text = out.get(30, TimeUnit.SECONDS);
            return new Output(text, !finished, (System.nanoTime() - start) / 1_000_000);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run psql for " + script, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("psql output of " + script + " not read", e);
        }
    }

    /** What psql printed; {@code timedOut} when it was killed after the timeout (the text is what came before). */
    public record Output(String text, boolean timedOut, long millis) {
    }
}
