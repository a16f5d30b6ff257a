package org.mtm.itests.faults;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import org.mtm.itests.harness.Attempt;
import org.mtm.itests.harness.ClientOutcome;
import org.mtm.itests.harness.Violation;

/**
 * The figures of a battery run (faults, commits, outcomes, violations, the longest time a write waited) and every
 * violation, printed and written to {@code <dir>/seed-<seed>.txt}; with the nodes' logs copied beside it when a check
 * failed.
 */
record BatteryReport(FaultPlan plan, List<FaultTimeline.Window> faults, List<Attempt> attempts, long reads,
                     List<Violation> violations, Map<String, Long> generations) {
    /** Violations printed on the console; the file has them all. */
    private static final int PRINTED = 60;

    long commits() {
        return attempts.stream().filter(a -> a.outcome() == ClientOutcome.ACKNOWLEDGED).count();
    }

    String summary() {
        Map<ClientOutcome, Long> outcomes = new EnumMap<>(ClientOutcome.class);
        attempts.forEach(a -> outcomes.merge(a.outcome(), 1L, Long::sum));
        Attempt longest = attempts.stream().max(Comparator.comparingLong(Attempt::millis)).orElse(null);
        StringBuilder text = new StringBuilder();
        text.append(String.format("seed %d: faults %d (of %d planned), commits %d, violations %d, longest write wait %d ms%n",
            plan.seed(), faults.size(), plan.steps().size(), commits(), violations.size(), longest == null ? 0 : longest.millis()));
        text.append(String.format("  attempts %d by outcome %s, reads %d, highest generations %s%n", attempts.size(), outcomes,
            reads, generations));
        if (longest != null) {
            text.append("  longest wait: ").append(longest).append('\n');
        }
        faults.forEach(w -> text.append(String.format("  fault %s at %d ms, cluster whole again after %d ms%n", w.label(), w.from(),
            w.to() - w.from())));
        Violation.counts(violations).forEach((kind, n) -> text.append(String.format("  violations: %d × %s%n", n, kind)));
        return text.toString();
    }

    /** Prints the summary and the first violations; writes everything to {@code dir}. Returns the report file. */
    Path print(Path dir) throws IOException {
        String summary = summary();
        System.out.println("[fault-battery] " + summary);
        violations.stream().limit(PRINTED).forEach(v -> System.out.println("[fault-battery] VIOLATION " + v));
        if (violations.size() > PRINTED) {
            System.out.println("[fault-battery] ... " + (violations.size() - PRINTED) + " more in the report file");
        }
        Files.createDirectories(dir);
        Path file = dir.resolve("seed-" + plan.seed() + ".txt");
        List<String> lines = new ArrayList<>(List.of(summary));
        violations.forEach(v -> lines.add("VIOLATION " + v));
        attempts.stream().filter(a -> a.outcome() != ClientOutcome.ACKNOWLEDGED).forEach(a -> lines.add("failed " + a));
        Files.write(file, lines);
        return file;
    }

    /** Copies each node's karaf.log and PostgreSQL log (kept in its folder when the cluster stopped) into {@code dir}. */
    static void keepLogs(List<Path> nodeHomes, Path dir) throws IOException {
        Files.createDirectories(dir);
        for (Path home : nodeHomes) {
            String node = home.getFileName().toString();
            for (String log : List.of("data/log/karaf.log", "postgresql.log", "karaf.out")) {
                Path source = home.resolve(log);
                if (Files.isReadable(source)) {
                    Files.copy(source, dir.resolve(node + "-" + source.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
