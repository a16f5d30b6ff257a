package org.mtm.consensus.internal.resolver;

import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/**
 * Thousands of seeded schedules of the commit path and the resolver ({@link CommitSimulation}); any failing seed is
 * reproducible: {@code -Dsimulation.seed=<seed>} runs that one schedule with a trace.
 */
public class ResolutionSimulationTest {
    private static final int SCHEDULES = Integer.getInteger("simulation.schedules", 3000);

    @Test
    public void threeNodesWithLossReorderingCutsAndOneCrashAtATime() {
        runMany(3, 1, 0xA11CEL);
    }

    @Test
    public void threeNodesWithTwoCrashedAtOnce() {
        runMany(3, 2, 0xB0BL);
    }

    @Test
    public void fiveNodes() {
        runMany(5, 2, 0xC0FFEEL);
    }

    private static void runMany(int nodes, int maxCrashed, long base) {
        Long only = Long.getLong("simulation.seed");
        List<String> failures = new ArrayList<>();
        int schedules = only != null ? 1 : nodes == 5 ? SCHEDULES / 3 : SCHEDULES;
        int answered = 0;
        for (int i = 0; i < schedules && failures.size() < 5; i++) {
            long seed = only != null ? only : base * 1_000_003L + i;
            CommitSimulation sim = new CommitSimulation(seed, nodes, only != null);
            sim.run(400, maxCrashed);
            if (!sim.violations().isEmpty()) {
                failures.addAll(sim.violations());
                if (only != null) {
                    System.out.println(sim.trace);
                }
            }
            answered += (int) sim.answers().values().stream().filter(a -> a != CommitSimulation.Answer.NONE).count();
        }
        assertTrue("violations (rerun one with -Dsimulation.seed=<seed>):\n" + String.join("\n", failures), failures.isEmpty());
        assertTrue("the schedules must commit or abort something: " + answered, answered > schedules);
    }
}
