package org.mtm.api;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.StringJoiner;

/**
 * An immutable set of node ids (1..64) kept as a bit mask, the way generations, clique and the
 * {@code connected} arrays of {@code mtm.status()} speak of nodes.
 */
public final class NodeSet {
    public static final int MAX_NODE_ID = 64;
    public static final NodeSet EMPTY = new NodeSet(0L);

    private final long mask;

    private NodeSet(long mask) {
        this.mask = mask;
    }

    public static NodeSet ofMask(long mask) {
        return mask == 0 ? EMPTY : new NodeSet(mask);
    }

    public static NodeSet of(int... ids) {
        long m = 0;
        for (int id : ids) {
            m |= bit(id);
        }
        return ofMask(m);
    }

    public static NodeSet of(Collection<Integer> ids) {
        long m = 0;
        for (int id : ids) {
            m |= bit(id);
        }
        return ofMask(m);
    }

    /** The set {1..n}. */
    public static NodeSet range(int n) {
        if (n < 0 || n > MAX_NODE_ID) {
            throw new IllegalArgumentException("node count must be 0.." + MAX_NODE_ID + ", got " + n);
        }
        return ofMask(n == 64 ? -1L : (1L << n) - 1);
    }

    private static long bit(int id) {
        if (id < 1 || id > MAX_NODE_ID) {
            throw new IllegalArgumentException("node id must be 1.." + MAX_NODE_ID + ", got " + id);
        }
        return 1L << (id - 1);
    }

    public long mask() {
        return mask;
    }

    public boolean contains(int id) {
        return id >= 1 && id <= MAX_NODE_ID && (mask & (1L << (id - 1))) != 0;
    }

    public boolean containsAll(NodeSet other) {
        return (other.mask & ~mask) == 0;
    }

    public NodeSet with(int id) {
        return ofMask(mask | bit(id));
    }

    public NodeSet without(int id) {
        return ofMask(mask & ~bit(id));
    }

    public NodeSet union(NodeSet other) {
        return ofMask(mask | other.mask);
    }

    public NodeSet intersect(NodeSet other) {
        return ofMask(mask & other.mask);
    }

    public NodeSet minus(NodeSet other) {
        return ofMask(mask & ~other.mask);
    }

    public int size() {
        return Long.bitCount(mask);
    }

    public boolean isEmpty() {
        return mask == 0;
    }

    /** True when this set holds more than half of {@code configured}. */
    public boolean isMajorityOf(NodeSet configured) {
        return intersect(configured).size() * 2 > configured.size();
    }

    public List<Integer> ids() {
        List<Integer> ids = new ArrayList<>(size());
        long m = mask;
        while (m != 0) {
            int bit = Long.numberOfTrailingZeros(m);
            ids.add(bit + 1);
            m &= m - 1;
        }
        return ids;
    }

    public int[] toArray() {
        return ids().stream().mapToInt(Integer::intValue).toArray();
    }

    /** PostgreSQL array literal, as {@code mtm.status()} prints it: {@code {1,2,3}}. */
    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(",", "{", "}");
        ids().forEach(id -> j.add(Integer.toString(id)));
        return j.toString();
    }

    /** Parses the form {@link #toString()} prints. */
    public static NodeSet parse(String text) {
        String t = text.trim();
        if (!t.startsWith("{") || !t.endsWith("}")) {
            throw new IllegalArgumentException("node set must look like {1,2,3}, got '" + text + "'");
        }
        String body = t.substring(1, t.length() - 1).trim();
        if (body.isEmpty()) {
            return EMPTY;
        }
        long m = 0;
        for (String part : body.split(",")) {
            m |= bit(Integer.parseInt(part.trim()));
        }
        return ofMask(m);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NodeSet other && other.mask == mask;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(mask);
    }
}
