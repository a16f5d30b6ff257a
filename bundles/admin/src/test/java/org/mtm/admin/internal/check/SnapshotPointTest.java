package org.mtm.admin.internal.check;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.Map;
import java.util.Set;
import org.junit.Test;

public class SnapshotPointTest {

    @Test
    public void heldEverywhereAndNothingPreparedIsOnePoint() {
        assertNull(SnapshotPoint.inconsistency(Set.of(1, 2, 3), Map.of(1, 0L, 2, 0L, 3, 0L)));
    }

    @Test
    public void aPreparedCopyAtASnapshotIsNot() {
        assertEquals("node 2 had 1 prepared distributed transaction(s) at its snapshot (a commit not finished on every node,"
            + " or one in doubt: see mtm.in_doubt)", SnapshotPoint.inconsistency(Set.of(1, 2, 3), Map.of(1, 0L, 2, 1L, 3, 0L)));
    }

    @Test
    public void aNodeWithoutSnapshotOrHoldIsNot() {
        assertEquals("the nodes holding their commits [1, 2, 3] are not those with a snapshot [1, 2] (the generation changed"
            + " meanwhile)", SnapshotPoint.inconsistency(Set.of(1, 2, 3), Map.of(1, 0L, 2, 0L)));
    }
}
