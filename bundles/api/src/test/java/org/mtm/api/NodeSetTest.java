package org.mtm.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;

public class NodeSetTest {

    @Test
    public void printsLikePostgresArray() {
        assertEquals("{1,2,3}", NodeSet.of(3, 1, 2).toString());
        assertEquals("{}", NodeSet.EMPTY.toString());
        assertEquals("{64}", NodeSet.of(64).toString());
    }

    @Test
    public void parseRoundTrips() {
        for (NodeSet s : List.of(NodeSet.EMPTY, NodeSet.of(1), NodeSet.of(2, 5, 64), NodeSet.range(64))) {
            assertEquals(s, NodeSet.parse(s.toString()));
        }
        assertThrows(IllegalArgumentException.class, () -> NodeSet.parse("1,2"));
    }

    @Test
    public void setAlgebra() {
        NodeSet a = NodeSet.of(1, 2, 3);
        assertEquals(NodeSet.of(1, 3), a.without(2));
        assertEquals(NodeSet.of(1, 2, 3, 4), a.with(4));
        assertEquals(NodeSet.of(2), a.intersect(NodeSet.of(2, 4)));
        assertEquals(NodeSet.of(1, 3), a.minus(NodeSet.of(2, 4)));
        assertTrue(a.containsAll(NodeSet.of(1, 3)));
        assertFalse(a.containsAll(NodeSet.of(1, 4)));
        assertEquals(List.of(1, 2, 3), a.ids());
    }

    @Test
    public void majorityOfConfigured() {
        NodeSet configured = NodeSet.of(1, 2, 3);
        assertTrue(NodeSet.of(1, 2).isMajorityOf(configured));
        assertFalse(NodeSet.of(1).isMajorityOf(configured));
        assertFalse(NodeSet.of(1, 4, 5).isMajorityOf(configured));
        assertFalse(NodeSet.of(1).isMajorityOf(NodeSet.of(1, 2)));
    }

    @Test
    public void rejectsOutOfRangeIds() {
        assertThrows(IllegalArgumentException.class, () -> NodeSet.of(0));
        assertThrows(IllegalArgumentException.class, () -> NodeSet.of(65));
        assertFalse(NodeSet.range(3).contains(0));
    }
}
