package org.mtm.itests.faults;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import org.junit.Test;
import org.mtm.itests.harness.NodeFault;

/** The battery's schedule and timeline, without a cluster. */
public class FaultPlanTest {
    @Test
    public void aSeedGivesTheSamePlanAndEverySixFaultsCoverEveryKind() {
        FaultPlan plan = FaultPlan.of(42, 30, 3);
        assertEquals(plan, FaultPlan.of(42, 30, 3));
        for (int cycle = 0; cycle < 5; cycle++) {
            EnumSet<NodeFault> kinds = EnumSet.noneOf(NodeFault.class);
            plan.steps().subList(cycle * 6, cycle * 6 + 6).forEach(step -> kinds.add(step.fault()));
            assertEquals("faults " + (cycle * 6 + 1) + ".." + (cycle * 6 + 6), EnumSet.allOf(NodeFault.class), kinds);
        }
        for (FaultPlan.Step step : plan.steps()) {
            assertTrue(step + " on a node of the cluster", step.node() >= 1 && step.node() <= 3 && step.peer() >= 1 && step.peer() <= 3);
            assertNotEquals(step + ": a link joins two nodes", step.node(), step.peer());
        }
    }

    @Test
    public void aWriteIsPlacedUnderTheFaultItOverlapsElseAfterTheLastOneHealed() {
        FaultTimeline timeline = new FaultTimeline();
        timeline.add("kill-karaf of node2 (fault #1)", Set.of(2), 1_000, 5_000);
        timeline.add("sigstop of node1 (fault #2)", Set.of(1), 8_000, 20_000);
        assertEquals("warm-up", timeline.during(0, 900));
        assertEquals("kill-karaf of node2 (fault #1)", timeline.during(900, 1_100));
        assertEquals("kill-karaf of node2 (fault #1) (1000 ms after it healed)", timeline.during(6_000, 7_000));
        assertEquals("a write that waited across both faults: the first", "kill-karaf of node2 (fault #1)", timeline.during(4_000, 9_000));
        assertEquals(List.of("kill-karaf of node2 (fault #1)", "sigstop of node1 (fault #2)"),
            timeline.windows().stream().map(FaultTimeline.Window::label).toList());
    }
}
