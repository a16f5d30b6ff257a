package org.mtm.sequence.internal;

/**
 * Node-stride allocation (manual F.31.1): with the largest node id {@code m} as increment, node {@code n}
 * owns the values congruent to {@code n} modulo {@code m}, so nodes never hand out the same value. Pure.
 */
public final class Stride {

    private Stride() {
    }

    /**
     * The first value node {@code node} may hand out after {@code lastValue} with increment {@code maxNodeId}:
     * {@code (lastValue / max + 1) * max + node}, as the original's {@code mtm.alter_sequences()} computes it.
     */
    public static long restartValue(long lastValue, int maxNodeId, int node) {
        if (maxNodeId < 1 || node < 1 || node > maxNodeId) {
            throw new IllegalArgumentException("node " + node + " must be in 1.." + maxNodeId);
        }
        long base = Math.floorDiv(lastValue, maxNodeId);
        return Math.addExact(Math.multiplyExact(base + 1, (long) maxNodeId), node);
    }

    /** True when {@code value} belongs to {@code node}'s residue class. */
    public static boolean owns(long value, int maxNodeId, int node) {
        return Math.floorMod(value - node, (long) maxNodeId) == 0;
    }
}
