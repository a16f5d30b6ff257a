package org.mtm.itests.harness.regress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.mtm.itests.harness.ClusterInvariants;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.PgTools;
import org.mtm.itests.harness.Poll;
import org.mtm.itests.harness.Sql;

/**
 * The cluster's nodes side by side after a run, each read on its own PostgreSQL: {@code pg_dump --schema-only}, every
 * replicated table's "rows:md5" in key order ({@link ClusterInvariants#digests}) and the prepared transactions left.
 * Two things in the dumps differ by design and are normalised: pg_dump's "restrict"/"unrestrict" meta-command lines
 * (a random key per run), and the START of node-strided sequences (manual F.31.1: node i of N starts in residue i, with
 * INCREMENT BY N, or -N for a descending one; the increment stays compared).
 */
public record NodeComparison(Map<String, String> schemaDumps, Map<String, Map<String, String>> digests,
                             Map<String, List<String>> prepared) {

    /** Reads every node, after waiting up to {@code settle} for prepared transactions to finish. */
    public static NodeComparison read(List<KarafNode> nodes, Duration settle) {
        Map<String, List<String>> prepared = new LinkedHashMap<>();
        try {
            Poll.until("no prepared transaction", settle, Duration.ofMillis(500), () -> preparedOn(nodes, prepared), Boolean::booleanValue);
        } catch (AssertionError | RuntimeException e) {
            // what is left is reported, not thrown: the report shows it
        }
        Map<String, String> dumps = new LinkedHashMap<>();
        Map<String, Map<String, String>> digests = new LinkedHashMap<>();
        for (KarafNode node : nodes) {
            PgTools.Result dump = PgTools.run(List.of(PgTools.BIN.resolve("pg_dump").toString(), "--schema-only",
                "-d", PgTools.conninfo(node.postgresPort())), null, Duration.ofMinutes(5));
            dumps.put(node.name(), dump.ok() ? normalised(dump.stdout(), nodes.size()) : "pg_dump failed: " + dump);
            Map<String, String> tables = new TreeMap<>();
            try (Connection c = Sql.connect(node.postgresPort())) {
                for (Map.Entry<String, String> table : ClusterInvariants.replicatedTables(c).entrySet()) {
                    try {
                        tables.put(table.getKey(), ClusterInvariants.digest(c, table.getKey(), table.getValue()));
                    } catch (SQLException byKey) {
                        try {
                            tables.put(table.getKey(), ClusterInvariants.digest(c, table.getKey(), "") + " (rows in text order: "
                                + byKey.getMessage() + ")");
                        } catch (SQLException e) {
                            tables.put(table.getKey(), "(no digest: " + e.getMessage() + ")");
                        }
                    }
                }
            } catch (SQLException e) {
                tables.put("(tables not listed)", String.valueOf(e.getMessage()));
            }
            digests.put(node.name(), tables);
        }
        return new NodeComparison(dumps, digests, prepared);
    }

    private static boolean preparedOn(List<KarafNode> nodes, Map<String, List<String>> prepared) throws SQLException {
        prepared.clear();
        for (KarafNode node : nodes) {
            List<String> gids = new ArrayList<>();
            for (Map<String, String> row : Sql.rows(node.postgresPort(), "SELECT gid FROM pg_prepared_xacts ORDER BY gid")) {
                gids.add(row.get("gid"));
            }
            if (!gids.isEmpty()) {
                prepared.put(node.name(), gids);
            }
        }
        return prepared.isEmpty();
    }

    /** A node's {@code pg_dump} output without what differs between nodes by design (above). */
    public static String normalised(String dump, int nodes) {
        StringBuilder out = new StringBuilder();
        dump.lines().filter(l -> !l.startsWith("\\restrict ") && !l.startsWith("\\unrestrict ")).forEach(l -> out.append(l).append('\n'));
        return out.toString().replaceAll("START WITH -?\\d+(\n\\s+INCREMENT BY -?" + nodes + "\n)", "START WITH (node-strided)$1");
    }

    /** The nodes whose schema dump differs from the first node's. */
    public List<String> schemaDiffering() {
        String first = schemaDumps.values().iterator().next();
        return schemaDumps.entrySet().stream().filter(e -> !e.getValue().equals(first)).map(Map.Entry::getKey).toList();
    }

    /** {@code diff -U2} of each differing node's schema dump against the first node's (dumps run to thousands of lines). */
    public Map<String, String> schemaDiffs() {
        Map.Entry<String, String> first = schemaDumps.entrySet().iterator().next();
        Map<String, String> diffs = new LinkedHashMap<>();
        for (String node : schemaDiffering()) {
            diffs.put(first.getKey() + " vs " + node, unifiedDiff(first.getValue(), schemaDumps.get(node)));
        }
        return diffs;
    }

    private static String unifiedDiff(String a, String b) {
        try {
            Path dir = Files.createTempDirectory("mtm-dump-diff");
            try {
                Files.writeString(dir.resolve("a"), a);
                Files.writeString(dir.resolve("b"), b);
                PgTools.Result diff = PgTools.run(List.of("diff", "-U2", dir.resolve("a").toString(), dir.resolve("b").toString()),
                    null, Duration.ofMinutes(1));
                return diff.stdout().lines().skip(2).collect(Collectors.joining("\n", "", "\n"));
            } finally {
                Files.deleteIfExists(dir.resolve("a"));
                Files.deleteIfExists(dir.resolve("b"));
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            return "(no diff: " + e + ")";
        }
    }

    /** Every table whose digest is not the same on all nodes (or missing on some), with each node's digest. */
    public Map<String, Map<String, String>> tablesDiffering() {
        TreeSet<String> tables = new TreeSet<>();
        digests.values().forEach(t -> tables.addAll(t.keySet()));
        Map<String, Map<String, String>> out = new TreeMap<>();
        for (String table : tables) {
            Map<String, String> byNode = new LinkedHashMap<>();
            digests.forEach((node, t) -> byNode.put(node, t.getOrDefault(table, "(absent)")));
            if (byNode.values().stream().distinct().count() > 1) {
                out.put(table, byNode);
            }
        }
        return out;
    }

    /** Number of replicated tables on the first node. */
    public int tables() {
        return digests.values().iterator().next().size();
    }

    /** Tables whose digest could not be computed on some node (an invariant that was not checked is not held). */
    public Map<String, Map<String, String>> tablesUnchecked() {
        Map<String, Map<String, String>> out = new TreeMap<>();
        digests.forEach((node, tables) -> tables.forEach((table, digest) -> {
            if (digest.startsWith("(")) {
                out.computeIfAbsent(table, t -> new LinkedHashMap<>()).put(node, digest);
            }
        }));
        return out;
    }

    public boolean hold() {
        return schemaDiffering().isEmpty() && tablesDiffering().isEmpty() && tablesUnchecked().isEmpty() && prepared.isEmpty();
    }
}
