package org.mtm.itests.harness.regress;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The differential run as text: summary, one row per file, the differing statements against the list of expected
 * differences (by listed cause; those not listed and those listed that answered alike), the node invariants, each
 * differing statement with its cause and diff.
 */
public final class RegressReport {
    private RegressReport() {
    }

    public static String render(String header, List<FileComparison> files, Map<String, String> excluded, NodeComparison nodes,
                                ExpectedDifferences expected) {
        ExpectedDifferences.Check check = expected.check(files);
        long identical = files.stream().filter(FileComparison::identical).count();
        int statements = files.stream().mapToInt(f -> f.differences().size()).sum();
        StringBuilder out = new StringBuilder();
        out.append("PostgreSQL 15 regression files: standalone server vs gateway 1 of a 3-node mtm cluster\n");
        out.append(header.strip()).append("\n\n");
        out.append(String.format("SUMMARY: %d files run, %d identical, %d differing; %d statements differing (%d not in the list of "
            + "expected differences, %d listed but answered alike); %d of %d tables differ "
            + "between nodes; schema dumps %s; prepared transactions left: %s%n", files.size(), identical, files.size() - identical,
            statements, check.unexpected().size(), check.stale().size(), nodes.tablesDiffering().size(), nodes.tables(), nodes.schemaDiffering().isEmpty() ? "identical" : "DIFFER on "
                + nodes.schemaDiffering(), nodes.prepared().isEmpty() ? "none" : nodes.prepared()));
        out.append("\nFILES (schedule order)\n");
        for (FileComparison f : files) {
            out.append(String.format("  %-26s %-9s %4d statement(s) differ%s%s%n", f.name(), f.identical() ? "identical" : "DIFFERS",
                f.differences().size(), f.echoed() >= f.expectedEchoes() ? "" : String.format(" [echo %d/%d lines]", f.echoed(),
                    f.expectedEchoes()), f.note().isEmpty() ? "" : " " + f.note()));
        }
        out.append("\nNOT IN THE LIST OF EXPECTED DIFFERENCES (each a bug to fix, or a statement to list with its cause)\n");
        check.unexpected().forEach(u -> out.append("  ").append(u).append('\n'));
        out.append(check.unexpected().isEmpty() ? "  none\n" : "");
        out.append("\nLISTED BUT ANSWERED AS ON POSTGRESQL (to take out of the list)\n");
        check.stale().forEach(u -> out.append("  ").append(u).append('\n'));
        out.append(check.stale().isEmpty() ? "  none\n" : "");
        out.append("\nCAUSES (listed causes, else \"not listed; first guess: ...\"; statements, files)\n");
        Map<String, List<String>> causes = new TreeMap<>();
        for (FileComparison f : files) {
            for (FileComparison.StatementDifference d : f.differences()) {
                causes.computeIfAbsent(causeOf(expected, f, d), c -> new ArrayList<>()).add(f.name());
            }
        }
        causes.entrySet().stream().sorted((a, b) -> b.getValue().size() - a.getValue().size()).forEach(e -> out.append(
            String.format("  %5d  %s%n         in %s%n", e.getValue().size(), e.getKey(), new TreeSet<>(e.getValue()))));
        if (!excluded.isEmpty()) {
            out.append("\nEXCLUDED\n");
            excluded.forEach((name, why) -> out.append(String.format("  %-26s %s%n", name, why)));
        }
        out.append("\nINVARIANTS (each node's own PostgreSQL, after the run)\n");
        out.append("  pg_dump --schema-only: ").append(nodes.schemaDiffering().isEmpty() ? "identical on every node"
            : "differs on " + nodes.schemaDiffering()).append('\n');
        nodes.schemaDiffs().forEach((pair, diff) -> out.append("  ").append(pair).append(":\n").append(diff.indent(4)));
        out.append("  replicated tables (ordered md5): ").append(nodes.tables()).append(" on ")
            .append(nodes.digests().keySet().iterator().next()).append(", ").append(nodes.tablesDiffering().size())
            .append(" differ between nodes\n");
        nodes.tablesDiffering().forEach((table, byNode) -> out.append("    ").append(table).append(' ').append(byNode).append('\n'));
        if (!nodes.tablesUnchecked().isEmpty()) {
            out.append("  tables without a digest (not checked):\n");
            nodes.tablesUnchecked().forEach((table, byNode) -> out.append("    ").append(table).append(' ').append(byNode).append('\n'));
        }
        out.append("  pg_prepared_xacts: ").append(nodes.prepared().isEmpty() ? "empty on every node" : nodes.prepared()).append('\n');
        out.append("\nDIFFERENCES (\"-\" standalone, \"+\" cluster)\n");
        for (FileComparison f : files) {
            if (f.identical()) {
                continue;
            }
            out.append("\n=== ").append(f.name()).append(": ").append(f.differences().size()).append(" statement(s)\n");
            for (FileComparison.StatementDifference d : f.differences()) {
                String key = expected.causeOf(f.name(), d.line());
                out.append("--- ").append(f.name()).append(".sql line ").append(d.line()).append(" (").append(key == null
                    ? causeOf(expected, f, d) : key + " [" + expected.cause(key).kind() + "]").append(")\n");
                out.append(clip(d.statement(), 12).indent(4));
                out.append(clip(d.diff(), 60));
            }
        }
        return out.toString();
    }

    /** The listed cause's key and reason, or the first guess of a statement not listed. */
    private static String causeOf(ExpectedDifferences expected, FileComparison f, FileComparison.StatementDifference d) {
        String key = expected.causeOf(f.name(), d.line());
        if (key == null) {
            return "not listed; first guess: " + DifferenceCause.of(d);
        }
        ExpectedDifferences.Cause cause = expected.cause(key);
        return key + " [" + cause.kind() + "]: " + cause.reason();
    }

    private static String clip(String text, int lines) {
        List<String> all = text.lines().toList();
        if (all.size() <= lines) {
            return text.endsWith("\n") || text.isEmpty() ? text : text + "\n";
        }
        return String.join("\n", all.subList(0, lines)) + "\n... (" + (all.size() - lines) + " more lines)\n";
    }
}
