package org.mtm.consensus.internal.resolver;

import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/**
 * Thousands of seeded schedules of the commit path and the resolver ({@link CommitSimulation}); any failing seed is
 * reproducible: {@code -Dsimulation.seed=<seed>} runs that one schedule with a trace (a timely one with
 * {@code -Dsimulation.timely=true}).
 */
public class ResolutionSimulationTest {
    private static final int SCHEDULES = Integer.getInteger("simulation.schedules", 3000);
    /** Schedules of {@value #TIMELY_MS} ms of simulated time each on the timely network. */
    private static final int TIMELY_SCHEDULES = Integer.getInteger("simulation.timelySchedules", 60);
    private static final long TIMELY_MS = 300_000;

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

    /**
     * Large transactions on a network that delivers in time: the notes keep an undisturbed one from being rolled back
     * for its size (decision timeout) or behind its coordinator's back (a peer's resolver), and do not keep the copies
     * of a coordinator that went down from being resolved.
     */
    @Test
    public void threeNodesApplyingLargeTransactionsOnATimelyNetwork() {
        runTimely(3, 1, 0x1A26EL, TIMELY_SCHEDULES, false, false, true, null);
    }

    @Test
    public void fiveNodesApplyingLargeTransactionsOnATimelyNetwork() {
        runTimely(5, 2, 0x5A26EL, TIMELY_SCHEDULES / 2, false, false, true, null);
    }

    /** The timely checks have teeth: without the APPLYING notes, large transactions end at the decision timeout. */
    @Test
    public void withoutTheApplyingNotesTheTimelyChecksFail() {
        runTimely(3, 1, 0x1A26EL, 10, true, false, false, "(57014 no decision within the decision timeout); its peers took up to");
    }

    /** ... and without the COORDINATING notes, a peer's resolver takes the copy from its coordinator at work. */
    @Test
    public void withoutTheCoordinatingNotesTheTimelyChecksFail() {
        runTimely(3, 1, 0x1A26EL, 10, false, true, false, "behind its coordinator, at work on it");
    }

    private static void runMany(int nodes, int maxCrashed, long base) {
        Long only = Boolean.getBoolean("simulation.timely") ? Long.valueOf(-1) : Long.getLong("simulation.seed");
        if (only != null && only == -1) {
            return;
        }
        List<String> failures = new ArrayList<>();
        int schedules = only != null ? 1 : nodes == 5 ? SCHEDULES / 3 : SCHEDULES;
        int answered = 0;
        int notes = 0;
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
            notes += sim.notesDelivered();
        }
        assertTrue("violations (rerun one with -Dsimulation.seed=<seed>):\n" + String.join("\n", failures), failures.isEmpty());
        assertTrue("the schedules must commit or abort something: " + answered, answered > schedules);
        assertTrue("the schedules must deliver notes: " + notes, only != null || notes > schedules);
    }

    private static void runTimely(int nodes, int maxCrashed, long base, int schedules, boolean noApplying,
                                  boolean noCoordinating, boolean expectClean, String expected) {
        Long only = Boolean.getBoolean("simulation.timely") ? Long.getLong("simulation.seed") : null;
        List<String> failures = new ArrayList<>();
        int large = 0;
        int heldUp = 0;
        for (int i = 0; i < (only != null ? 1 : schedules) && failures.size() < 5; i++) {
            long seed = only != null ? only : base * 1_000_003L + i;
            CommitSimulation sim = new CommitSimulation(seed, nodes, only != null).withoutNotes(noApplying, noCoordinating);
            sim.runTimely(TIMELY_MS, maxCrashed);
            failures.addAll(sim.violations());
            if (only != null && !sim.violations().isEmpty()) {
                System.out.println(sim.trace);
            }
            large += sim.largeCommitted();
            heldUp += sim.heldUpAborted();
        }
        System.out.println(nodes + " nodes, " + schedules + " timely schedules" + (noApplying ? " without APPLYING" : "")
            + (noCoordinating ? " without COORDINATING" : "") + ": " + large + " large transactions committed, " + heldUp
            + " aborted after waiting behind an abandoned apply, " + failures.size() + " violations");
        if (expectClean) {
            assertTrue("violations (rerun one with -Dsimulation.timely=true -Dsimulation.seed=<seed>):\n"
                + String.join("\n", failures), failures.isEmpty());
            assertTrue("transactions applied for longer than the decision timeout must commit: " + large,
                only != null || large > schedules);
        } else if (only == null) {
            assertTrue("without the notes the checks must find: " + expected + "\nfound: " + failures,
                failures.stream().anyMatch(f -> f.contains(expected)));
        }
    }
}
