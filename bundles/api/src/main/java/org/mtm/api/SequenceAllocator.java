package org.mtm.api;

/** Keeps sequences from colliding across nodes (node stride, or monotonic across the cluster). */
public interface SequenceAllocator {
    /**
     * {@code mtm.alter_sequences()}: sets every sequence of the database to increment by the largest
     * node id and to produce only values of this node's residue. Returns how many sequences it changed.
     */
    int alterSequences() throws java.sql.SQLException;
}
