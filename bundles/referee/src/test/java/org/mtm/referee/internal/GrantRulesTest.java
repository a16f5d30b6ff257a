package org.mtm.referee.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Optional;
import org.junit.Test;
import org.mtm.api.RefereeGrants.Grant;

public class GrantRulesTest {

    private static final Optional<Grant> NONE = Optional.empty();

    @Test
    public void firstApplicantWins() {
        assertEquals(Optional.of(new Grant(1, 3)), GrantRules.decide(NONE, 1, 3, 2));
        assertTrue(GrantRules.granted(GrantRules.decide(NONE, 1, 3, 2), 1, 3));
    }

    @Test
    public void otherNodeIsRefusedWhileTheGrantIsLive() {
        Optional<Grant> held = Optional.of(new Grant(1, 3));
        assertEquals(held, GrantRules.decide(held, 2, 4, 2));
        assertFalse(GrantRules.granted(GrantRules.decide(held, 2, 4, 2), 2, 4));
        // not online in any full generation: nothing makes the grant obsolete
        assertFalse(GrantRules.granted(GrantRules.decide(held, 2, 9, 0), 2, 9));
    }

    @Test
    public void sameNodeRenewsOnlyUpwardAndARepeatIsGranted() {
        Optional<Grant> held = Optional.of(new Grant(1, 3));
        assertEquals(Optional.of(new Grant(1, 5)), GrantRules.decide(held, 1, 5, 2));
        assertTrue(GrantRules.granted(GrantRules.decide(held, 1, 3, 2), 1, 3));
        assertEquals(held, GrantRules.decide(held, 1, 2, 0));
        assertFalse(GrantRules.granted(GrantRules.decide(held, 1, 2, 0), 1, 2));
    }

    @Test
    public void aGrantBelowTheApplicantsFullGenerationGivesWay() {
        Optional<Grant> held = Optional.of(new Grant(1, 3));
        // node 2 is online in generation 4 of both nodes: node 1 voted for it and moved past generation 3
        assertEquals(Optional.of(new Grant(2, 5)), GrantRules.decide(held, 2, 5, 4));
        assertTrue(GrantRules.obsolete(new Grant(1, 3), 4));
        assertFalse(GrantRules.obsolete(new Grant(1, 5), 4));
        // a grant above the applicant's full generation stays
        assertEquals(Optional.of(new Grant(1, 5)), GrantRules.decide(Optional.of(new Grant(1, 5)), 2, 6, 4));
    }

    @Test
    public void theHolderClearsAGrantItNeverUsed() {
        // node 1 online in full generation 4, its last vote 6: its grant 6 came too late for its election
        assertTrue(GrantRules.cleared(new Grant(1, 6), 4, 1, 6));
        assertFalse("not the other node", GrantRules.cleared(new Grant(1, 6), 4, 2, 6));
        assertFalse("a later election of its own", GrantRules.cleared(new Grant(1, 7), 4, 1, 6));
        assertTrue("obsolete for anyone", GrantRules.cleared(new Grant(1, 3), 4, 2, 4));
    }
}
