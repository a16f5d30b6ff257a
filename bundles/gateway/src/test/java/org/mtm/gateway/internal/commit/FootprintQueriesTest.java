package org.mtm.gateway.internal.commit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;
import org.mtm.gateway.internal.commit.Footprint.Notes;

/** What a gateway's sessions send for the footprint, before and after its functions are made on the server. */
public class FootprintQueriesTest {
    private static final Notes WRITES = new Notes(true, false, false, false);
    private static final Notes DDL = new Notes(true, false, true, false);

    @Test
    public void beforeTheFunctionsTheStatementsGoAsText() {
        FootprintQueries q = new FootprintQueries();
        assertFalse(q.usesRoutines());
        assertEquals(Footprint.QUICK_SQL, q.quick());
        assertEquals(Footprint.QUICK_WITH_LOCKS_SQL, q.quick(WRITES));
        assertEquals(Footprint.QUICK_SQL, q.quick(DDL));
        assertEquals(Footprint.LOCKS_SQL, q.locks());
    }

    @Test
    public void afterwardsTheyAreCallsAndTheQuickQuerySentAheadBringsTheLocks() {
        FootprintQueries q = new FootprintQueries();
        q.routinesInstalled();
        assertTrue(q.usesRoutines());
        assertEquals("ahead of the commit: the locks too (one query less for a write's commit)",
                "SELECT * FROM mtm.gateway_footprint(true)", q.quick());
        assertEquals("SELECT * FROM mtm.gateway_footprint(true)", q.quick(WRITES));
        assertEquals("SELECT * FROM mtm.gateway_footprint(false)", q.quick(DDL));
        assertEquals("SELECT * FROM mtm.gateway_footprint_locks()", q.locks());
    }

    @Test
    public void theInlineQueriesNeverSwitch() {
        assertThrows(IllegalStateException.class, FootprintQueries.INLINE::routinesInstalled);
        assertFalse(FootprintQueries.INLINE.usesRoutines());
    }
}
