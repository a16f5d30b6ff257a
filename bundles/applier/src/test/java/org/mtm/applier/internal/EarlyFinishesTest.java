package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;

import java.util.concurrent.CompletableFuture;
import org.junit.Test;

public class EarlyFinishesTest {

    @Test
    public void theDecisionFirstCommitsEarlyAndTheStreamWaitsForIt() {
        EarlyFinishes f = new EarlyFinishes();
        CompletableFuture<Boolean> early = f.claimEarly("MTM-1-10-1", 0);
        assertNotNull("nobody claimed it: the early committer runs it", early);
        CompletableFuture<Boolean> seenByStream = f.claimStream("MTM-1-10-1", 1);
        assertSame("the stream's K gets the early commit's result to wait for", early, seenByStream);
        assertEquals("both came: forgotten", 0, f.size());
    }

    @Test
    public void theStreamFirstRunsItAndALateDecisionDoesNothing() {
        EarlyFinishes f = new EarlyFinishes();
        assertNull("the stream runs COMMIT PREPARED itself", f.claimStream("MTM-1-11-1", 0));
        assertNull("a decision arriving after the K has nothing to do", f.claimEarly("MTM-1-11-1", 1));
        assertEquals(0, f.size());
    }

    @Test
    public void aDecisionSentAgainRunsOnce() {
        EarlyFinishes f = new EarlyFinishes();
        assertNotNull(f.claimEarly("MTM-1-12-1", 0));
        assertNull(f.claimEarly("MTM-1-12-1", 1));
        assertEquals(1, f.size());
    }

    @Test
    public void claimsWithoutAPartnerAreForgottenOnceOldAndFinished() {
        EarlyFinishes f = new EarlyFinishes();
        CompletableFuture<Boolean> running = f.claimEarly("MTM-1-13-1", 0);
        assertNull(f.claimStream("MTM-1-14-1", 0)); // its decision never comes (an older coordinator)
        f.forgetOlderThan(EarlyFinishes.KEEP_NANOS);
        assertEquals("an early commit still running is kept: its K must wait for it", 1, f.size());
        running.complete(true);
        f.forgetOlderThan(EarlyFinishes.KEEP_NANOS);
        assertEquals(0, f.size());
    }

    @Test
    public void sweepsOnlyEveryFewThousandClaims() {
        EarlyFinishes f = new EarlyFinishes();
        for (int i = 0; i < EarlyFinishes.SWEEP_EVERY - 1; i++) {
            f.claimStream("MTM-2-" + i + "-1", 0);
        }
        assertEquals(EarlyFinishes.SWEEP_EVERY - 1, f.size());
        assertNull(f.claimStream("MTM-2-x-1", 2 * EarlyFinishes.KEEP_NANOS)); // the sweep runs before this claim
        assertEquals(1, f.size());
    }
}
