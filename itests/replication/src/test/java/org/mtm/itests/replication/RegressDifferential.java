package org.mtm.itests.replication;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.mtm.itests.harness.ClusterInvariants;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.Sql;
import org.mtm.itests.harness.regress.ExpectedDifferences;
import org.mtm.itests.harness.regress.FileComparison;
import org.mtm.itests.harness.regress.NodeComparison;
import org.mtm.itests.harness.regress.RegressPsql;
import org.mtm.itests.harness.regress.RegressReport;
import org.mtm.itests.harness.regress.RegressSchedule;
import org.mtm.itests.harness.regress.StandalonePostgres;

/**
 * Issue 8 part 6: PostgreSQL 15's regression files (vendored under {@code src/test/resources/pg15}, see its README)
 * run one psql per file, in parallel_schedule's order, through gateway 1 of a cluster and on a standalone PostgreSQL
 * of the same version, encoding and locale, with the nodes' own server settings; psql's outputs compared statement by
 * statement, then the nodes compared with each other. Writes the report and returns the result.
 */
final class RegressDifferential {
    /** Files left out of every run, with the reason (listed in the report and the README). */
    static final Map<String, String> EXCLUDED = excluded();
    private static final String NEEDS_REGRESS_SO = "needs regress.so (C functions of PostgreSQL's build tree; not in the server packages)";
    private static final String CALLS_SETUP_C = "calls test_setup's C functions from regress.so (binary_coercible, ttdummy or get_columns_length)";
    /**
     * With both (tools/regress-lib builds them): a directory holding regress.so compiled for these servers, and
     * PostgreSQL 15.18's src/test/regress (sql/, data/, parallel_schedule) — then the files that need regress.so run
     * too. Without them, the vendored files of src/test/resources/pg15 and those files excluded.
     */
    private static final String LIB = System.getProperty("mtm.regress.lib", "");
    private static final String SOURCE = System.getProperty("mtm.regress.source", "");
    /**
     * {@code -Dmtm.regress.volkswagen=true} (tools/pg-regress-diff --volkswagen): every psql session, on both sides,
     * with {@code mtm.volkswagen_mode = on} — sequences not node-strided, as the original runs the suite with its
     * multimaster.volkswagen_mode; the list then expects no strided differences
     * ({@link ExpectedDifferences#inVolkswagenMode()}).
     */
    static final boolean VOLKSWAGEN = Boolean.getBoolean("mtm.regress.volkswagen");
    static final String VOLKSWAGEN_OPTIONS = "-c mtm.volkswagen_mode=on";

    /**
     * The short form in the default suite: files that answer as on PostgreSQL today (the guard against regressions).
     * json and jsonb look for their temporary table's statistics under pg_my_temp_schema(), which the gateway
     * answers with the session's stand-in schema (TempStandIns.qualifyEdits).
     * Not fast_default since issue 8: it adds columns with clock_timestamp() and random() defaults to tables with
     * rows, which each node would fill with its own values (they diverged, unseen, as the file drops its tables):
     * the cluster refuses them (DdlIT).
     */
    static final String SHORT = "test_setup,boolean,char,varchar,int4,float8,enum,rangetypes,date,timestamptz,interval,copy,"
        + "insert_conflict,create_misc,create_procedure,create_aggregate,select,drop_if_exists,arrays,join,aggregates,merge,"
        + "polymorphism,temp,json,jsonb";

    private RegressDifferential() {
    }

    /**
     * The run's result: every file compared, the nodes compared, the differences against the list of expected ones,
     * the report text and where it was written.
     */
    record Result(List<FileComparison> files, NodeComparison nodes, ExpectedDifferences.Check check, String report, Path reportFile) {
        List<String> differingFiles() {
            return files.stream().filter(f -> !f.identical()).map(FileComparison::name).toList();
        }
    }

    /**
     * The list of expected differences (src/test/resources/pg15-differences: causes.tsv and statements.tsv, README
     * "PostgreSQL's regression suite as a differential test"): every statement of the full run that answers otherwise
     * through the cluster, with its cause.
     */
    static ExpectedDifferences expected() {
        try {
            return ExpectedDifferences.parse(resource("/pg15-differences/causes.tsv"), resource("/pg15-differences/statements.tsv"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The list for a run with {@code mtm.volkswagen_mode = on} ({@link #VOLKSWAGEN}): less the strided statements and
     * their own knock-ons, plus statements-volkswagen.tsv — what the stride hid and differs for another cause.
     */
    static ExpectedDifferences expectedInVolkswagenMode() {
        try {
            return expected().inVolkswagenMode(resource("/pg15-differences/statements-volkswagen.tsv"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String resource(String name) throws IOException {
        try (var in = RegressDifferential.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("resource " + name + " missing");
            }
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    private static Map<String, String> excluded() {
        Map<String, String> m = new LinkedHashMap<>();
        String regressSo = NEEDS_REGRESS_SO;
        String setupC = CALLS_SETUP_C;
        m.put("tablespace", "needs a tablespace directory pg_regress makes beside the server (node-local storage)");
        for (String test : List.of("alter_generic", "compression_pglz", "conversion", "create_function_c", "create_type",
                "create_view", "encoding", "foreign_data", "indirect_toast", "lock", "misc", "misc_functions", "triggers")) {
            m.put(test, regressSo);
        }
        for (String test : List.of("alter_table", "opr_sanity", "sanity_check")) {
            m.put(test, setupC);
        }
        m.put("random", "random numbers; pg_regress itself ignores its result");
        m.put("stats", "waits on the cumulative statistics system: timing-dependent output even between two runs of PostgreSQL");
        return Map.copyOf(m);
    }

    /** Runs {@code wanted} ("all" or test names) against {@code cluster}'s gateway 1 and a fresh standalone server. */
    static Result run(TestCluster cluster, String wanted, Path reportFile, Duration fileTimeout) throws SQLException, IOException {
        boolean withLib = !LIB.isEmpty() && !SOURCE.isEmpty();
        Path pg15 = withLib ? Path.of(SOURCE) : resources();
        Map<String, String> exclusions = new LinkedHashMap<>(EXCLUDED);
        if (withLib) {
            exclusions.values().removeIf(why -> why.equals(NEEDS_REGRESS_SO) || why.equals(CALLS_SETUP_C));
        }
        RegressSchedule schedule = RegressSchedule.parse(Files.readString(pg15.resolve("parallel_schedule")));
        List<String> tests = schedule.select(wanted, exclusions);
        Map<String, String> excluded = schedule.excludedOf(wanted, exclusions);

        Path root = KarafNode.postgresRoot("mtm-regress-");
        try {
            // the servers read data/ (COPY FROM a file) and write results/ (COPY TO, lo_export): copies they can reach
            Path srcdir = root.resolve("src");
            copyTree(pg15.resolve("data"), srcdir.resolve("data"));
            Path builddir = root.resolve("build");
            Files.createDirectories(builddir.resolve("results"));
            for (Path dir : List.of(srcdir, builddir)) {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            Files.setPosixFilePermissions(builddir.resolve("results"), PosixFilePermissions.fromString("rwxrwxrwx"));

            Map<String, String> database = Sql.rows(cluster.postgres(1), "SELECT pg_encoding_to_char(encoding) AS encoding, "
                + "datcollate, datctype, version() AS version FROM pg_database WHERE datname = current_database()").get(0);
            Map<String, String> settings = new LinkedHashMap<>();
            for (Map<String, String> row : Sql.rows(cluster.postgres(1), "SELECT name, setting FROM pg_settings "
                    + "WHERE source = 'configuration file' AND name NOT IN ('port', 'listen_addresses', 'unix_socket_directories') "
                    + "ORDER BY name")) {
                settings.put(row.get("name"), row.get("setting"));
            }
            List<FileComparison> files = new ArrayList<>();
            String header;
            try (StandalonePostgres standalone = StandalonePostgres.start(root.resolve("standalone"), settings,
                    database.get("encoding"), database.get("datcollate"), database.get("datctype"))) {
                Map<String, String> standaloneDb = Sql.rows(standalone.port(), "SELECT pg_encoding_to_char(encoding) AS encoding, "
                    + "datcollate, datctype, version() AS version FROM pg_database WHERE datname = current_database()").get(0);
                if (!standaloneDb.equals(database)) {
                    throw new IllegalStateException("standalone database " + standaloneDb + " is not like the cluster's " + database);
                }
                header = "sources: " + (withLib ? SOURCE + " with " + LIB + "/regress.so" : "src/test/resources/pg15")
                    + " (PostgreSQL 15.18, see its README); tests: " + wanted + "\n"
                    + "servers: " + database.get("version") + "; database " + KarafNode.DATABASE + " " + database.get("encoding")
                    + ", LC_COLLATE " + database.get("datcollate") + ", LC_CTYPE " + database.get("datctype") + "\n"
                    + "standalone settings as node 1's configuration file: " + settings + "\n"
                    + "psql -X -a -q per file, PGTZ=PST8PDT, PGDATESTYLE='Postgres, MDY', C locale; outputs compared unnormalised"
                    + (VOLKSWAGEN ? "\nmode: PGOPTIONS='" + VOLKSWAGEN_OPTIONS + "' on both sides (sequences not node-strided; "
                        + "the list less its strided statements and their knock-ons)" : "");
                RegressPsql psql = new RegressPsql(srcdir, builddir,
                    withLib ? Path.of(LIB) : root.resolve("no-regress-lib"), fileTimeout, VOLKSWAGEN ? VOLKSWAGEN_OPTIONS : null);
                // psql's outputs as they came, beside the report
                Path outputs = reportFile.toAbsolutePath().resolveSibling(reportFile.getFileName() + ".outputs");
                Files.createDirectories(outputs);
                for (String test : tests) {
                    Path sql = pg15.resolve("sql").resolve(test + ".sql");
                    RegressPsql.Output alone = psql.run(test, sql, standalone.port());
                    RegressPsql.Output viaCluster = psql.run(test, sql, cluster.gateway(1));
                    Files.writeString(outputs.resolve(test + ".standalone.out"), alone.text());
                    Files.writeString(outputs.resolve(test + ".cluster.out"), viaCluster.text());
                    String note = (alone.timedOut() ? "[standalone timed out] " : "") + (viaCluster.timedOut() ? "[cluster timed out] " : "")
                        + String.format("(%.1f s standalone, %.1f s cluster)", alone.millis() / 1000.0, viaCluster.millis() / 1000.0);
                    FileComparison compared = FileComparison.of(test, Files.readString(sql), alone.text(), viaCluster.text(), note);
                    files.add(compared);
                    TestCluster.log("regress", "%-24s %s, %d statement(s) differ %s", test, compared.identical() ? "identical" : "DIFFERS",
                        compared.differences().size(), note);
                }
            }
            NodeComparison nodes = NodeComparison.read(cluster.nodes(), ClusterInvariants.SETTLE);
            ExpectedDifferences expected = VOLKSWAGEN ? expectedInVolkswagenMode() : expected();
            String report = RegressReport.render(header, files, excluded, nodes, expected);
            Files.createDirectories(reportFile.toAbsolutePath().getParent());
            Files.writeString(reportFile, report);
            return new Result(files, nodes, expected.check(files), report, reportFile);
        } finally {
            KarafNode.deletePostgresRoot(root);
        }
    }

    private static Path resources() {
        try {
            return Path.of(RegressDifferential.class.getResource("/pg15/parallel_schedule").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.toList()) {
                Files.copy(file, to.resolve(file.getFileName()));
                Files.setPosixFilePermissions(to.resolve(file.getFileName()), PosixFilePermissions.fromString("rw-r--r--"));
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
