package org.mtm.consensus.internal.generation;

import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/**
 * Thousands of seeded schedules of elections, switches, recoveries and commits ({@link GenerationSimulation}); any
 * failing seed is reproducible: {@code -Dsimulation.seed=<seed>} runs that one schedule with a trace.
 */
public class GenerationSimulationTest {
    private static final int SCHEDULES = Integer.getInteger("simulation.schedules", 2000);

    @Test
    public void threeNodesOneCrashedAtATime() {
        runMany(3, 1, 0x6E4E1L, 1.0);
    }

    @Test
    public void threeNodesAllMayCrash() {
        runMany(3, 3, 0x6E4E3L, 1.0);
    }

    @Test
    public void fiveNodesTwoCrashedAtATime() {
        runMany(5, 2, 0x6E4E5L, 0.3);
    }

    /** 2+1: two data nodes and a referee; the referee crashes and restarts, its links are cut, its answers lost. */
    @Test
    public void twoNodesAndAReferee() {
        Long only = Long.getLong("simulation.seed");
        List<String> failures = new ArrayList<>();
        int schedules = only != null ? 1 : SCHEDULES;
        long commits = 0;
        long generations = 0;
        long grants = 0;
        for (int i = 0; i < schedules && failures.size() < 5; i++) {
            long seed = only != null ? only : 0x2E1L * 1_000_003L + i;
            GenerationSimulation sim = new GenerationSimulation(seed, 2, true, only != null);
            sim.run(600, 2);
            failures.addAll(sim.violations());
            if (only != null) {
                System.out.println(sim.trace);
            }
            commits += sim.commits();
            generations += sim.generationsWon();
            grants += sim.grants();
        }
        System.out.printf("2 nodes + referee: %d schedules, %d commits, %d generations won, %d grants%n", schedules,
            commits, generations, grants);
        assertTrue("violations (rerun one with -Dsimulation.seed=<seed>):\n" + String.join("\n", failures),
            failures.isEmpty());
        assertTrue("the schedules must grant: " + grants, grants >= schedules / 2);
        assertTrue("the schedules must commit: " + commits, commits > schedules);
    }

    /**
     * mtm.drop_node asked now and then, on a random node for a random node, among the faults of the 3- and 5-node
     * schedules: configured sets only shrink with the generation numbers, no two generations share a number, logs stay
     * prefixes, and the remaining nodes settle online in one generation of the final configured set.
     */
    @Test
    public void dropsAmongTheFaults() {
        Long only = Long.getLong("simulation.seed");
        List<String> failures = new ArrayList<>();
        int schedules = only != null ? 1 : SCHEDULES;
        long drops = 0;
        long commits = 0;
        for (int i = 0; i < schedules && failures.size() < 5; i++) {
            long seed = only != null ? only : 0xD20L * 1_000_003L + i;
            GenerationSimulation sim = new GenerationSimulation(seed, i % 2 == 0 ? 3 : 5, false, true, only != null);
            sim.run(600, i % 2 == 0 ? 1 : 2);
            failures.addAll(sim.violations());
            if (only != null) {
                System.out.println(sim.trace);
            }
            drops += sim.dropsWon();
            commits += sim.commits();
        }
        System.out.printf("drops: %d schedules of 3 and 5 nodes, %d drops won, %d commits%n", schedules, drops, commits);
        assertTrue("violations (rerun one with -Dsimulation.seed=<seed>):\n" + String.join("\n", failures),
            failures.isEmpty());
        // (667 drops won in one phase; two phases win 475 among the faults, retries included: README, issue 11)
        assertTrue("the schedules must drop nodes: " + drops, drops >= schedules / 5);
    }

    /**
     * mtm.add_node of spare ids now and then (the new node's catalog row written on every member, its election, a
     * base backup of an online node, mtm.join_node, its catch-up and election into the members), among the faults and
     * drops of 3+1 and 3+2 node schedules: logs stay prefixes (the backup and the catch-up never fork a node), only
     * added ids grow a configured set, a dropped node never comes back, and at the end every configured node — the
     * added ones included — is online in one generation. Changes are asked on different nodes at once too, two in
     * one step now and then (issue 11): before change elections had two phases, such changes could bind the voters
     * of a 4-node cluster two against two for good ({@code -Dsimulation.one_change_at_a_time=true}: the operator
     * waits for one change before asking the next).
     */
    @Test
    public void additionsAndDropsAmongTheFaults() {
        Long only = Long.getLong("simulation.seed");
        List<String> failures = new ArrayList<>();
        int schedules = only != null ? 1 : SCHEDULES / 2;
        long adds = 0;
        long joins = 0;
        long drops = 0;
        long commits = 0;
        long competing = 0;
        for (int i = 0; i < schedules && failures.size() < 5; i++) {
            long seed = only != null ? only : 0xADDL * 1_000_003L + i;
            long k = seed - 0xADDL * 1_000_003L; // the schedule's index: a seed given alone runs as it ran among all
            int spares = k % 2 == 0 ? 1 : 2;
            GenerationSimulation sim = new GenerationSimulation(seed, 3 + spares, spares, k % 3 != 0, only != null);
            sim.run(600, 1);
            failures.addAll(sim.violations());
            if (only != null) {
                System.out.println(sim.trace);
            }
            adds += sim.addsWon();
            joins += sim.joins();
            drops += sim.dropsWon();
            commits += sim.commits();
            competing += sim.competing();
        }
        System.out.printf("additions: %d schedules of 3+1 and 3+2 nodes, %d additions won, %d joins, %d drops won, %d"
            + " commits, %d steps asked two changes at once%n", schedules, adds, joins, drops, commits, competing);
        assertTrue("violations (rerun one with -Dsimulation.seed=<seed>):\n" + String.join("\n", failures),
            failures.isEmpty());
        // (a change election takes two phases, twice the messages: among the faults more first tries are lost than
        // before them, 300 additions in 1000 schedules against 510; the runtime retries a lost one, these do not)
        assertTrue("the schedules must add nodes: " + adds, adds >= schedules / 4);
        assertTrue("the schedules must join added nodes: " + joins, joins >= schedules / 4);
        assertTrue("the schedules must drop nodes: " + drops, drops >= schedules / 4);
        assertTrue("the schedules must ask competing changes: " + competing,
            Boolean.getBoolean("simulation.one_change_at_a_time") || competing >= schedules / 20);
    }

    /** @param electionsPerSchedule how many generations the schedules must elect on average, at least */
    private static void runMany(int nodes, int maxCrashed, long base, double electionsPerSchedule) {
        Long only = Long.getLong("simulation.seed");
        List<String> failures = new ArrayList<>();
        int schedules = only != null ? 1 : nodes == 5 ? SCHEDULES / 2 : SCHEDULES;
        long commits = 0;
        long generations = 0;
        for (int i = 0; i < schedules && failures.size() < 5; i++) {
            long seed = only != null ? only : base * 1_000_003L + i;
            GenerationSimulation sim = new GenerationSimulation(seed, nodes, only != null);
            sim.run(600, maxCrashed);
            failures.addAll(sim.violations());
            if (only != null) {
                System.out.println(sim.trace);
            }
            commits += sim.commits();
            generations += sim.generationsWon();
        }
        System.out.printf("%d nodes: %d schedules, %d commits, %d generations won%n", nodes, schedules, commits,
            generations);
        assertTrue("violations (rerun one with -Dsimulation.seed=<seed>):\n" + String.join("\n", failures),
            failures.isEmpty());
        assertTrue("the schedules must elect generations: " + generations, generations >= electionsPerSchedule * schedules);
        assertTrue("the schedules must commit: " + commits, commits > schedules);
    }
}
