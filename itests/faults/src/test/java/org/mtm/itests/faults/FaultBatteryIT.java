package org.mtm.itests.faults;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.Test;

/**
 * The fault battery (issue 7 point 6; shared/reference/fault-testing.md): the bank workload on every gateway —
 * the faulted node's included — while kill -9 of Karaf, of PostgreSQL, of both, a graceful stop, a 10 s SIGSTOP and a
 * cut transport link hit random nodes one at a time; then every node's own database is checked against what the
 * clients saw. The short form ({@value #SHORT_FORM} faults: one of each kind, a new seed each run) runs in {@code mvn verify}; system
 * properties {@code battery.faults}, {@code battery.seed} and {@code battery.nodes} select a long or a reproduced run
 * ({@code ./mtm battery}). The summary and every violation go to the output and to
 * {@code target/fault-battery/seed-<seed>.txt}, the nodes' logs beside it when a check fails (or always, with
 * {@code -Dbattery.keep_logs=true}: to read why a fault stopped writes for long).
 */
public class FaultBatteryIT {
    /** One fault of each kind (the plan shuffles the kinds), on a new seed each run. */
    private static final int SHORT_FORM = 6;

    @Test
    public void everyNodeAgreesWithWhatTheClientsSawAfterEachFault() throws Exception {
        int faults = Integer.getInteger("battery.faults", SHORT_FORM);
        int nodes = Integer.getInteger("battery.nodes", 3);
        String seedProperty = System.getProperty("battery.seed", "");
        long seed = seedProperty.isBlank() ? System.nanoTime() : Long.parseLong(seedProperty.trim());
        Path dir = Path.of(System.getProperty("battery.report", "target/fault-battery"));

        FaultBattery battery = new FaultBattery(FaultPlan.of(seed, faults, nodes), nodes);
        BatteryReport report = battery.run("fault-battery");
        Path file = report.print(dir);
        if (!report.violations().isEmpty() || Boolean.getBoolean("battery.keep_logs")) {
            Path logs = dir.resolve("seed-" + seed);
            BatteryReport.keepLogs(battery.nodeHomes(), logs);
            System.out.println("[fault-battery] nodes' logs kept in " + logs);
        }
        assertEquals("violations (seed " + seed + "; reproduce with -Dbattery.seed=" + seed + " -Dbattery.faults=" + faults
            + "; every one in " + file + ")", List.of(), report.violations().stream().map(Object::toString).limit(20).toList());
        int windows = faults + (FaultBattery.MEMBERSHIP ? 1 : 0); // the membership change is a window of its own
        assertEquals("faults injected and healed, and the membership change (seed " + seed + ", see " + file + ")",
            windows, report.faults().size());
        assertTrue("writes were acknowledged", report.commits() > 0);
    }
}
