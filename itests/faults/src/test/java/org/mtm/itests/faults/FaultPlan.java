package org.mtm.itests.faults;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.mtm.itests.harness.NodeFault;

/**
 * The fault schedule of a run, from its seed alone (a run is reproduced by its seed): the fault kinds in a shuffled
 * order, every kind once before any kind again (so a run of six faults covers all), each on a random node; a link
 * fault also picks the peer at the other end.
 */
record FaultPlan(long seed, List<Step> steps) {
    /** Fault {@code number} (1-based) of {@code fault} on node {@code node}, with {@code peer} for a link fault. */
    record Step(int number, NodeFault fault, int node, int peer) {
        /** The nodes the fault hits: the node, and for a cut link the peer at its other end too. */
        Set<Integer> hit() {
            return fault == NodeFault.CUT_LINK ? Set.of(node, peer) : Set.of(node);
        }
    }

    static FaultPlan of(long seed, int faults, int nodes) {
        Random random = new Random(seed);
        List<NodeFault> kinds = new ArrayList<>();
        List<Step> steps = new ArrayList<>();
        for (int number = 1; number <= faults; number++) {
            if (kinds.isEmpty()) {
                kinds.addAll(Arrays.asList(NodeFault.values()));
                Collections.shuffle(kinds, random);
            }
            NodeFault fault = kinds.remove(0);
            int node = 1 + random.nextInt(nodes);
            int peer = 1 + (node + random.nextInt(nodes - 1)) % nodes;
            steps.add(new Step(number, fault, node, peer));
        }
        return new FaultPlan(seed, List.copyOf(steps));
    }
}
