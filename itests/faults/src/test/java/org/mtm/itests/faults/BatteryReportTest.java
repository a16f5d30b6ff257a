package org.mtm.itests.faults;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.Test;
import org.mtm.itests.faults.BatteryReport.Availability;
import org.mtm.itests.faults.BatteryReport.FaultAvailability;
import org.mtm.itests.faults.WriteAvailability.Outage;
import org.mtm.itests.faults.WriteAvailability.Share;
import org.mtm.itests.harness.Attempt;
import org.mtm.itests.harness.ClientOutcome;

/** The battery's availability figures from synthetic attempts, without a cluster. */
public class BatteryReportTest {
    private static final Set<Integer> NODES = Set.of(1, 2, 3);

    private final List<Attempt> attempts = new ArrayList<>();

    /** A write through {@code gateway} from {@code at} to {@code end} ms with {@code outcome}. */
    private void write(int gateway, long at, long end, ClientOutcome outcome) {
        attempts.add(new Attempt(Attempt.Kind.INSERT, attempts.size(), gateway, "node" + gateway + " inserts", null, outcome,
            outcome == ClientOutcome.ACKNOWLEDGED ? null : "57P03", null, at, end - at));
    }

    /** Acknowledged writes on {@code gateway} ending every {@code every} ms from {@code from} to {@code to}. */
    private void steady(int gateway, long from, long to, long every) {
        for (long t = from; t <= to; t += every) {
            write(gateway, Math.max(0, t - 50), t, ClientOutcome.ACKNOWLEDGED);
        }
    }

    private BatteryReport report(long runMillis, FaultTimeline.Window... faults) {
        return new BatteryReport(FaultPlan.of(7, faults.length, 3), NODES, List.of(faults), attempts, 0, runMillis, List.of(),
            Map.of());
    }

    @Test
    public void anOutageIsTheLongestGapBetweenAcknowledgementsCutToTheWindow() {
        write(1, 0, 1_000, ClientOutcome.ACKNOWLEDGED);
        write(1, 1_000, 4_000, ClientOutcome.ERROR); // refused: no acknowledgement, however long it took
        write(2, 2_000, 2_500, ClientOutcome.ACKNOWLEDGED);
        write(1, 3_000, 6_000, ClientOutcome.UNKNOWN);
        write(1, 6_000, 6_100, ClientOutcome.ACKNOWLEDGED);
        WriteAvailability writes = WriteAvailability.of(attempts);

        assertEquals("node1 alone: acknowledged at 1000 and 6100", new Outage(1_000, 6_100), writes.longestOutage(Set.of(1), 0, 8_000));
        assertEquals("node2's write at 2500 splits it", new Outage(2_500, 6_100), writes.longestOutage(Set.of(1, 2), 0, 8_000));
        assertEquals("from the window's start to its first acknowledgement", new Outage(1_500, 6_100),
            writes.longestOutage(Set.of(1), 1_500, 7_000));
        assertEquals("from the last acknowledgement to the window's end", new Outage(6_100, 20_000),
            writes.longestOutage(Set.of(1, 2), 0, 20_000));
        assertEquals("no acknowledgement: the whole window", new Outage(100, 900), writes.longestOutage(Set.of(3), 100, 900));
        assertEquals(Set.of(1, 2), writes.gateways());
    }

    @Test
    public void theServedShareCountsSecondsWithAnAcknowledgedWrite() {
        write(1, 0, 500, ClientOutcome.ACKNOWLEDGED);     // bucket 0..1000
        write(2, 1_000, 1_999, ClientOutcome.ACKNOWLEDGED); // bucket 1000..2000
        write(1, 2_000, 2_100, ClientOutcome.ERROR);      // bucket 2000..3000: nothing acknowledged
        write(3, 3_000, 3_200, ClientOutcome.ACKNOWLEDGED); // bucket 3000..4000
        WriteAvailability writes = WriteAvailability.of(attempts);

        assertEquals(new Share(3_000, 4_000), writes.served(NODES, 0, 4_000));
        assertEquals(75.0, writes.served(NODES, 0, 4_000).percent(), 1e-9);
        assertEquals(new Share(1_000, 4_000), writes.served(Set.of(2), 0, 4_000));
        assertEquals("a last shorter bucket counts for its length", new Share(2_500, 3_500), writes.served(NODES, 0, 3_500));
        assertEquals(new Share(2_000, 2_500), writes.served(NODES, 0, 2_500));
        assertEquals("buckets start at the window's start", new Share(1_000, 1_000), writes.served(NODES, 500, 1_500));
        assertEquals(new Share(0, 0), writes.served(NODES, 10, 10));
    }

    @Test
    public void perFaultTheNodesNotHitAreMeasuredApartFromAllGateways() {
        // healthy until 9.5 s; node2 killed 10..30 s: nodes 1 and 3 stop 10..14 s (an election), then go on; node2's
        // gateway says nothing until 30 s; then a cut link 1-2 40..50 s during which only node3 writes
        steady(1, 500, 9_500, 500);
        steady(2, 500, 9_500, 500);
        steady(3, 500, 9_500, 500);
        steady(1, 14_000, 40_000, 500);
        steady(3, 14_000, 60_000, 500);
        steady(2, 30_500, 40_000, 500);
        steady(1, 50_500, 60_000, 500);
        steady(2, 50_500, 60_000, 500);
        FaultTimeline.Window kill = new FaultTimeline.Window("kill-karaf of node2 (fault #1)", Set.of(2), 10_000, 30_000);
        FaultTimeline.Window cut = new FaultTimeline.Window("cut-link node1-node2 (fault #2)", Set.of(1, 2), 40_000, 50_000);
        BatteryReport report = report(60_000, kill, cut);

        Availability a = report.availability();
        FaultAvailability killed = a.faults().get(0);
        assertEquals(Set.of(1, 3), killed.notHit());
        assertEquals(new Outage(10_000, 14_000), killed.notHitOutage());
        assertEquals(new Outage(10_000, 14_000), killed.outage());
        assertEquals("10..14 s without, 14..30 s with", new Share(16_000, 20_000), killed.notHitServed());
        FaultAvailability cutLink = a.faults().get(1);
        assertEquals(Set.of(3), cutLink.notHit());
        assertEquals(0, cutLink.notHitOutage().millis(), 500);
        assertEquals(100.0, cutLink.notHitServed().percent(), 1e-9);
        assertEquals(100.0, cutLink.served().percent(), 1e-9);

        assertEquals("the longest on the nodes not hit, over all faults", new Outage(10_000, 14_000), a.notHitOutage());
        assertEquals(new Share(26_000, 30_000), a.notHitServed());
        assertEquals("from the last write before the fault", new Outage(9_500, 14_000), a.outage());
        assertEquals("four seconds of 60 without a write", 56_000, a.served().servedMillis());
        assertEquals(60_000, a.served().millis());

        String summary = report.summary();
        assertTrue(summary, summary.contains("writes succeeded 93.3% of 60 s of the run on some gateway"));
        assertTrue(summary, summary.contains("longest write outage on all gateways 4500 ms (t=9500..14000 ms)"));
        assertTrue(summary, summary.contains("on the gateways of the nodes not hit: writes succeeded 86.7% of 30 s, longest write "
            + "outage 4000 ms (t=10000..14000 ms)"));
        assertTrue(summary, summary.contains("fault kill-karaf of node2 (fault #1) at 10000 ms, cluster whole again after 20000 ms: "
            + "longest write outage 4000 ms on nodes not hit [1, 3], 4000 ms on all gateways; writes succeeded 80.0% of the "
            + "time on nodes not hit, 80.0% on all"));
    }

    @Test
    public void aRunWithoutAcknowledgedWritesIsOneOutage() {
        write(1, 0, 3_000, ClientOutcome.ERROR);
        Availability a = report(5_000, new FaultTimeline.Window("sigstop of node1 (fault #1)", Set.of(1), 1_000, 4_000))
            .availability();
        assertEquals(new Outage(0, 5_000), a.outage());
        assertEquals(new Share(0, 5_000), a.served());
        assertEquals(new Outage(1_000, 4_000), a.notHitOutage());
        assertEquals(new Share(0, 3_000), a.notHitServed());
    }
}
