package org.mtm.referee.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Optional;
import org.junit.Test;
import org.mtm.api.RefereeGrants.Grant;

public class GrantRulesTest {

    @Test
    public void firstApplicantWins() {
        assertEquals(Optional.of(new Grant(1, 3)), GrantRules.decide(Optional.empty(), 1, 3));
    }

    @Test
    public void otherNodeIsRefused() {
        assertEquals(Optional.empty(), GrantRules.decide(Optional.of(new Grant(1, 3)), 2, 4));
    }

    @Test
    public void sameNodeRenewsOnlyUpward() {
        assertEquals(Optional.of(new Grant(1, 5)), GrantRules.decide(Optional.of(new Grant(1, 3)), 1, 5));
        assertEquals(Optional.of(new Grant(1, 3)), GrantRules.decide(Optional.of(new Grant(1, 3)), 1, 2));
    }

    @Test
    public void clearedOnceFullGenerationIsNewer() {
        assertTrue(GrantRules.cleared(new Grant(1, 3), 2, 4));
        assertTrue(GrantRules.cleared(new Grant(1, 4), 1, 4));
        assertFalse(GrantRules.cleared(new Grant(1, 5), 2, 4));
    }
}
