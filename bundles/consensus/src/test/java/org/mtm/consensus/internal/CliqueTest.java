package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;

import java.util.HashMap;
import java.util.Map;
import org.junit.Test;
import org.mtm.api.NodeSet;

public class CliqueTest {

    private static Map<Integer, NodeSet> fullMesh(int n) {
        Map<Integer, NodeSet> m = new HashMap<>();
        for (int i = 1; i <= n; i++) {
            m.put(i, NodeSet.range(n));
        }
        return m;
    }

    @Test
    public void fullMeshIsOneClique() {
        assertEquals(NodeSet.of(1, 2, 3), Clique.largest(fullMesh(3), NodeSet.range(3)));
        assertEquals(NodeSet.range(5), Clique.largest(fullMesh(5), NodeSet.range(5)));
    }

    @Test
    public void sausagePartitionKeepsSmallestMaskAmongEqualCliques() {
        // 1-2-3 with the 1–3 link cut: {1,2} and {2,3} are both maximum; {1,2} has the smaller mask.
        Map<Integer, NodeSet> m = fullMesh(3);
        m.put(1, NodeSet.of(1, 2));
        m.put(3, NodeSet.of(2, 3));
        assertEquals(NodeSet.of(1, 2), Clique.largest(m, NodeSet.range(3)));
    }

    @Test
    public void oneWayLinkDoesNotCount() {
        Map<Integer, NodeSet> m = fullMesh(3);
        m.put(3, NodeSet.of(3)); // 3 hears nobody, although 1 and 2 hear 3
        assertEquals(NodeSet.of(1, 2), Clique.largest(m, NodeSet.range(3)));
    }

    @Test
    public void deadNodeLeavesMajority() {
        Map<Integer, NodeSet> m = new HashMap<>();
        m.put(1, NodeSet.of(1, 2));
        m.put(2, NodeSet.of(1, 2));
        assertEquals(NodeSet.of(1, 2), Clique.largest(m, NodeSet.range(3)));
    }

    @Test
    public void isolatedNodesGiveSingletonOfSmallestId() {
        assertEquals(NodeSet.of(1), Clique.largest(new HashMap<>(), NodeSet.range(3)));
    }

    @Test
    public void fivePartitionedTwoAndThree() {
        Map<Integer, NodeSet> m = new HashMap<>();
        for (int i : new int[] {1, 2}) {
            m.put(i, NodeSet.of(1, 2));
        }
        for (int i : new int[] {3, 4, 5}) {
            m.put(i, NodeSet.of(3, 4, 5));
        }
        assertEquals(NodeSet.of(3, 4, 5), Clique.largest(m, NodeSet.range(5)));
    }

    @Test
    public void sixtyFourNodesFullMesh() {
        assertEquals(NodeSet.range(64), Clique.largest(fullMesh(64), NodeSet.range(64)));
    }

    @Test
    public void nonContiguousIds() {
        Map<Integer, NodeSet> m = new HashMap<>();
        m.put(2, NodeSet.of(2, 7, 9));
        m.put(7, NodeSet.of(2, 7, 9));
        m.put(9, NodeSet.of(2, 7, 9));
        assertEquals(NodeSet.of(2, 7, 9), Clique.largest(m, NodeSet.of(2, 7, 9)));
    }
}
