package org.mtm.itests.harness.regress;

import java.util.ArrayList;
import java.util.List;

/**
 * One regression file run on the standalone server and through the cluster's gateway: identical when psql printed
 * the same bytes; otherwise the statements whose answers differ (see {@link PsqlTranscript}). Nothing is normalised.
 */
public record FileComparison(String name, boolean identical, List<StatementDifference> differences, int echoed,
                             int expectedEchoes, String note) {

    /** A statement (the script lines since the previous answer) answered differently; both answers as printed. */
    public record StatementDifference(int line, String statement, String standalone, String cluster) {
        /** The answers side by side as a line diff: "-" standalone only, "+" cluster only. */
        public String diff() {
            return LineDiff.render(standalone.lines().toList(), cluster.lines().toList());
        }
    }

    public static FileComparison of(String name, String script, String standaloneOutput, String clusterOutput, String note) {
        PsqlTranscript standalone = PsqlTranscript.of(script, standaloneOutput);
        PsqlTranscript cluster = PsqlTranscript.of(script, clusterOutput);
        List<StatementDifference> differences = new ArrayList<>();
        int previousAnswer = 0;
        for (int line = 0; line <= standalone.lines(); line++) {
            String a = standalone.answer(line);
            String b = cluster.answer(line);
            if (!a.equals(b)) {
                differences.add(new StatementDifference(line, statement(standalone, previousAnswer + 1, line), a, b));
            }
            if (!a.isEmpty() || !b.isEmpty()) {
                previousAnswer = line;
            }
        }
        boolean identical = standaloneOutput.equals(clusterOutput);
        if (!identical && differences.isEmpty()) {
            // same answers but other bytes (line ends, say): still a difference, shown whole
            differences.add(new StatementDifference(0, "(whole file)", standaloneOutput, clusterOutput));
        }
        return new FileComparison(name, identical, List.copyOf(differences), cluster.echoed(), cluster.expectedEchoes(), note);
    }

    /** Script lines {@code from..to} (1-based, inclusive) without leading blank and comment lines. */
    private static String statement(PsqlTranscript script, int from, int to) {
        int start = Math.max(from, 1);
        while (start < to && (script.scriptLine(start).isBlank() || script.scriptLine(start).startsWith("--"))) {
            start++;
        }
        StringBuilder text = new StringBuilder();
        for (int line = start; line <= to; line++) {
            text.append(script.scriptLine(line)).append('\n');
        }
        return text.toString();
    }
}
