package org.mtm.consensus.internal.resolver;

/**
 * A Paxos term of the resolver, {@code (ballot, node)}, ordered by ballot then node. The coordinator's precommit
 * round is term {@link #COORDINATOR} {1,0}: the lowest term anyone proposes in, so it needs no promise round; a
 * resolver always proposes above every term it has seen (DESIGN §3).
 */
public record Term(int ballot, int node) implements Comparable<Term> {
    /** Nothing promised or accepted yet. */
    public static final Term NONE = new Term(0, 0);
    /** The coordinator's precommit. */
    public static final Term COORDINATOR = new Term(1, 0);

    @Override
    public int compareTo(Term o) {
        int c = Integer.compare(ballot, o.ballot);
        return c != 0 ? c : Integer.compare(node, o.node);
    }

    public boolean isAbove(Term o) {
        return compareTo(o) > 0;
    }

    public boolean isBelow(Term o) {
        return compareTo(o) < 0;
    }

    /** The next term node {@code self} proposes in: above {@code seen}. */
    public static Term above(Term seen, int self) {
        return new Term(Math.max(seen.ballot, COORDINATOR.ballot) + 1, self);
    }

    public static Term max(Term a, Term b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    @Override
    public String toString() {
        return "{" + ballot + "," + node + "}";
    }
}
