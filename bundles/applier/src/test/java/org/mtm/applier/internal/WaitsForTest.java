package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.junit.Test;
import org.mtm.applier.internal.WaitsFor.Edge;

/** Global deadlock detection over the nodes' reported waits: who is cancelled, where, and only in cycles. */
public class WaitsForTest {
    private static final String X = "MTM-1-100-1";
    private static final String Y = "MTM-2-200-1";
    private static final String Z = "MTM-3-300-1";

    private static Edge e(String waiter, String holder) {
        return new Edge(waiter, holder);
    }

    /** The one of {@code gids} every other one wins against. */
    private static String last(String... gids) {
        String victim = gids[0];
        for (String g : gids) {
            if (DeadlockPrevention.after(g, victim)) {
                victim = g;
            }
        }
        return victim;
    }

    @Test
    public void aTwoNodeCycleCancelsOneApplyOnTheNodeWhereTheVictimWaits() {
        WaitsFor graph = new WaitsFor();
        graph.report(1, Set.of(e(Y, X)), 0); // node 1: Y's copy waits for prepared X
        graph.report(2, Set.of(e(X, Y)), 0); // node 2: X's copy waits for prepared Y
        String victim = last(X, Y);
        String survivor = victim.equals(X) ? Y : X;
        int victimWaitsOn = victim.equals(Y) ? 1 : 2;
        assertEquals(Set.of(victim), graph.victims(victimWaitsOn));
        assertEquals("the other node leaves its apply alone", Set.of(), graph.victims(3 - victimWaitsOn));
        assertFalse(graph.victims(victimWaitsOn).contains(survivor));
    }

    @Test
    public void waitsWithoutACycleCancelNothing() {
        WaitsFor graph = new WaitsFor();
        graph.report(1, Set.of(e(Y, X), e(Z, X)), 0);
        graph.report(2, Set.of(e(Z, Y)), 0);
        assertEquals(Set.of(), graph.victims(1));
        assertEquals(Set.of(), graph.victims(2));
        graph.report(3, Set.of(e("MTM-1-7-1", "a user's prepared transaction")), 0);
        assertEquals(Set.of(), graph.victims(3));
    }

    @Test
    public void aThreeNodeCycleHasOneVictimAndTheCycleIsSeenOnlyWithEveryNodesReport() {
        WaitsFor graph = new WaitsFor();
        graph.report(1, Set.of(e(X, Y)), 0);
        graph.report(2, Set.of(e(Y, Z)), 0);
        assertEquals(Set.of(), graph.victims(1));
        graph.report(3, Set.of(e(Z, X)), 0);
        String victim = last(X, Y, Z);
        int node = victim.equals(X) ? 1 : victim.equals(Y) ? 2 : 3;
        for (int n = 1; n <= 3; n++) {
            assertEquals("node " + n, n == node ? Set.of(victim) : Set.of(), graph.victims(n));
        }
    }

    @Test
    public void staleReportsExpireAndAnEmptyReportClearsANodesWaits() {
        WaitsFor graph = new WaitsFor();
        graph.report(1, Set.of(e(Y, X)), 0);
        graph.report(2, Set.of(e(X, Y)), 0);
        graph.expire(1_000, 500);
        assertEquals(Set.of(), graph.reported(2));
        assertEquals(Set.of(), graph.victims(1));
        graph.report(1, Set.of(e(Y, X)), 2_000);
        graph.report(2, Set.of(e(X, Y)), 2_000);
        graph.report(2, Set.of(), 2_010);
        assertEquals(Set.of(), graph.victims(1));
    }

    @Test
    public void reportsTravelAsLinesAndMalformedOnesAreRefused() {
        Set<Edge> edges = Set.of(e(X, Y), e(Z, "user's gid"));
        assertEquals(edges, WaitsFor.decode(WaitsFor.encode(edges)));
        assertEquals(Set.of(), WaitsFor.decode(new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> WaitsFor.decode("no tab\n".getBytes(StandardCharsets.UTF_8)));
        assertThrows(IllegalArgumentException.class, () -> WaitsFor.decode("a\tb\tc\n".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    public void theOrderIsTotalAndTheSameFromBothSides() {
        String[] gids = {X, Y, Z, "MTM-1-101-1", "MTM-1-100-2", "foreign"};
        for (String a : gids) {
            for (String b : gids) {
                if (!a.equals(b)) {
                    assertTrue(a + " vs " + b, DeadlockPrevention.after(a, b) != DeadlockPrevention.after(b, a));
                }
            }
        }
        assertFalse("a gid that is not the cluster's is never the victim", DeadlockPrevention.after("foreign", X));
    }

    /**
     * Seeded simulation: random waits among transactions of 3 origins, spread over 3 nodes. Every cycle gets exactly
     * one cancellation in all, on a node where that victim waits; transactions in no cycle are never cancelled.
     */
    @Test
    public void inRandomGraphsEveryCycleLosesExactlyOneTransactionAndNothingElseIsCancelled() {
        Random random = new Random(20261206L);
        for (int round = 0; round < 500; round++) {
            List<String> txs = new ArrayList<>();
            int count = 2 + random.nextInt(8);
            for (int i = 0; i < count; i++) {
                txs.add("MTM-" + (1 + random.nextInt(3)) + "-" + (1 + random.nextInt(10_000)) + "-1");
            }
            Map<Integer, Set<Edge>> byNode = new HashMap<>();
            Map<String, Set<String>> all = new HashMap<>();
            int edges = random.nextInt(count * 2);
            for (int i = 0; i < edges; i++) {
                String w = txs.get(random.nextInt(count));
                String h = txs.get(random.nextInt(count));
                if (w.equals(h)) {
                    continue;
                }
                byNode.computeIfAbsent(1 + random.nextInt(3), k -> new HashSet<>()).add(e(w, h));
                all.computeIfAbsent(w, k -> new HashSet<>()).add(h);
            }
            WaitsFor graph = new WaitsFor();
            byNode.forEach((n, set) -> graph.report(n, set, 0));
            List<String> cancelled = new ArrayList<>();
            for (int n = 1; n <= 3; n++) {
                for (String v : graph.victims(n)) {
                    assertTrue("round " + round + ": " + v + " is cancelled where it waits",
                            byNode.getOrDefault(n, Set.of()).stream().anyMatch(x -> x.waiter().equals(v)));
                    cancelled.add(v);
                }
            }
            for (Set<String> component : WaitsFor.components(all)) {
                if (component.size() < 2) {
                    continue;
                }
                long inThis = cancelled.stream().filter(component::contains).distinct().count();
                assertEquals("round " + round + ": one victim for the cycle " + component, 1, inThis);
            }
            for (String v : cancelled) {
                assertTrue("round " + round + ": " + v + " is in a cycle",
                        WaitsFor.components(all).stream().anyMatch(c -> c.size() > 1 && c.contains(v)));
            }
        }
    }
}
