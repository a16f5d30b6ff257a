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
import java.util.Set;
import java.util.TreeSet;

import org.mtm.itests.faults.WriteAvailability.Outage;
import org.mtm.itests.faults.WriteAvailability.Share;
import org.mtm.itests.harness.Attempt;
import org.mtm.itests.harness.ClientOutcome;
import org.mtm.itests.harness.Violation;

/**
 * The figures of a battery run (faults, commits, outcomes, violations, the longest time a write waited, when writes
 * succeeded) and every violation, printed and written to {@code <dir>/seed-<seed>.txt}; with the nodes' logs copied
 * beside it when a check failed. {@code nodes}: the ids of the cluster's nodes (each has a gateway the load writes
 * through); {@code runMillis}: when the load stopped, in milliseconds of its clock (it started at 0).
 *
 * <p>Availability (issue 9) is reported, never asserted: per fault window and in total, the longest write outage on
 * the gateways of the nodes the fault did not hit and on all gateways, and the share of time in which writes
 * succeeded ({@link WriteAvailability}).
 */
record BatteryReport(FaultPlan plan, Set<Integer> nodes, List<FaultTimeline.Window> faults, List<Attempt> attempts,
                     long reads, long runMillis, List<Violation> violations, Map<String, Long> generations) {
    /** Violations printed on the console; the file has them all. */
    private static final int PRINTED = 60;

    /** When writes succeeded during one fault: on the gateways of the nodes it did not hit, and on all. */
    record FaultAvailability(FaultTimeline.Window fault, Set<Integer> notHit, Outage notHitOutage, Outage outage,
                             Share notHitServed, Share served) {
        @Override
        public String toString() {
            return String.format("longest write outage %d ms on nodes not hit %s, %d ms on all gateways; writes "
                + "succeeded %.1f%% of the time on nodes not hit, %.1f%% on all", notHitOutage.millis(), notHit,
                outage.millis(), notHitServed.percent(), served.percent());
        }
    }

    /** The run's availability figures: per fault window, and over the run and all fault windows together. */
    record Availability(List<FaultAvailability> faults, Outage outage, Share served, Outage notHitOutage,
                        Share notHitServed) {
    }

    long commits() {
        return attempts.stream().filter(a -> a.outcome() == ClientOutcome.ACKNOWLEDGED).count();
    }

    Availability availability() {
        WriteAvailability writes = WriteAvailability.of(attempts);
        List<FaultAvailability> perFault = new ArrayList<>();
        for (FaultTimeline.Window w : faults) {
            Set<Integer> notHit = new TreeSet<>(nodes);
            notHit.removeAll(w.hit());
            perFault.add(new FaultAvailability(w, notHit, writes.longestOutage(notHit, w.from(), w.to()),
                writes.longestOutage(nodes, w.from(), w.to()), writes.served(notHit, w.from(), w.to()),
                writes.served(nodes, w.from(), w.to())));
        }
        return new Availability(List.copyOf(perFault), writes.longestOutage(nodes, 0, runMillis), writes.served(nodes, 0, runMillis),
            Outage.longest(perFault.stream().map(FaultAvailability::notHitOutage).toList()),
            perFault.stream().map(FaultAvailability::notHitServed).reduce(Share.NONE, Share::plus));
    }

    String summary() {
        Map<ClientOutcome, Long> outcomes = new EnumMap<>(ClientOutcome.class);
        attempts.forEach(a -> outcomes.merge(a.outcome(), 1L, Long::sum));
        Attempt longest = attempts.stream().max(Comparator.comparingLong(Attempt::millis)).orElse(null);
        StringBuilder text = new StringBuilder();
        text.append(String.format("seed %d: windows %d (%d faults planned, then the membership change if on), commits %d,"
            + " violations %d, longest write wait %d ms%n", plan.seed(), faults.size(), plan.steps().size(), commits(),
            violations.size(), longest == null ? 0 : longest.millis()));
        text.append(String.format("  attempts %d by outcome %s, reads %d, highest generations %s%n", attempts.size(), outcomes,
            reads, generations));
        if (longest != null) {
            text.append("  longest wait: ").append(longest).append('\n');
        }
        Availability availability = availability();
        text.append(String.format("  writes succeeded %s of the run on some gateway (%d ms buckets with an acknowledged write); "
            + "longest write outage on all gateways %s%n", availability.served(), WriteAvailability.BUCKET_MILLIS,
            availability.outage()));
        text.append(String.format("  during the faults, on the gateways of the nodes not hit: writes succeeded %s, longest "
            + "write outage %s%n", availability.notHitServed(), availability.notHitOutage()));
        availability.faults().forEach(f -> text.append(String.format("  fault %s at %d ms, cluster whole again after %d ms: %s%n",
            f.fault().label(), f.fault().from(), f.fault().millis(), f)));
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
