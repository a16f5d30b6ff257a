package org.mtm.consensus.internal;

import java.util.Map;
import org.mtm.api.NodeSet;

/**
 * The largest set of nodes that all see each other, from the connectivity each node announces.
 * The matrix is made symmetric first (a link counts only if both ends see it); ties go to the
 * numerically smallest node mask, so every node that sees the same matrix picks the same clique —
 * 1-2-3 with the 1–3 link cut keeps {1,2}.
 */
public final class Clique {

    private Clique() {
    }

    /**
     * @param connectivity for each node, the nodes it reports connected (itself included or not)
     * @param nodes        the nodes to consider
     */
    public static NodeSet largest(Map<Integer, NodeSet> connectivity, NodeSet nodes) {
        int[] ids = nodes.toArray();
        long[] adjacency = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            NodeSet seesI = connectivity.getOrDefault(ids[i], NodeSet.EMPTY);
            long adj = 0;
            for (int j = 0; j < ids.length; j++) {
                if (i == j) {
                    continue;
                }
                NodeSet seesJ = connectivity.getOrDefault(ids[j], NodeSet.EMPTY);
                if (seesI.contains(ids[j]) && seesJ.contains(ids[i])) {
                    adj |= 1L << j;
                }
            }
            adjacency[i] = adj;
        }
        long best = search(adjacency, 0L, ids.length == 64 ? -1L : (1L << ids.length) - 1, 0L, 0L);
        long mask = 0;
        for (int i = 0; i < ids.length; i++) {
            if ((best & (1L << i)) != 0) {
                mask |= 1L << (ids[i] - 1);
            }
        }
        return NodeSet.ofMask(mask);
    }

    /** Bron–Kerbosch with pivoting over index bit sets; returns the best clique found (by index mask). */
    private static long search(long[] adj, long r, long p, long x, long best) {
        if (p == 0 && x == 0) {
            return better(r, best) ? r : best;
        }
        if (Long.bitCount(r) + Long.bitCount(p) < Long.bitCount(best)) {
            return best;
        }
        long pivotNeighbours = adj[Long.numberOfTrailingZeros(p | x)];
        long candidates = p & ~pivotNeighbours;
        while (candidates != 0) {
            int v = Long.numberOfTrailingZeros(candidates);
            long bit = 1L << v;
            best = search(adj, r | bit, p & adj[v], x & adj[v], best);
            p &= ~bit;
            x |= bit;
            candidates &= ~bit;
        }
        return best;
    }

    /**
     * Larger wins; among equals the numerically smaller mask. Index order follows node id order, so
     * comparing index masks as unsigned numbers compares node masks the same way.
     */
    private static boolean better(long candidate, long best) {
        int c = Long.bitCount(candidate);
        int b = Long.bitCount(best);
        if (c != b) {
            return c > b;
        }
        return best == 0 || Long.compareUnsigned(candidate, best) < 0;
    }
}
