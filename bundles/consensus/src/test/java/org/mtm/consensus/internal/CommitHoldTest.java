package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.Test;

public class CommitHoldTest {

    @Test
    public void admittedAtOnceWhileNothingIsHeld() {
        CommitHold hold = new CommitHold();
        assertFalse(hold.held(0));
        assertTrue(hold.admission(0).isDone());
    }

    @Test
    public void aHeldCommitWaitsUntilEveryHoldIsReleased() {
        CommitHold hold = new CommitHold();
        hold.hold(1, 1_000);
        hold.hold(2, 1_000);
        CompletableFuture<Void> waiting = hold.admission(10);
        assertFalse(waiting.isDone());
        assertEquals("another hold is still in force", List.of(), hold.release(1, 20));
        assertEquals(List.of(waiting), hold.release(2, 30));
        assertFalse(hold.held(30));
    }

    @Test
    public void aHoldEndsByItselfAtItsDeadline() {
        CommitHold hold = new CommitHold();
        hold.hold(7, 100);
        CompletableFuture<Void> waiting = hold.admission(50);
        assertEquals("not yet", List.of(), hold.expire(99));
        assertTrue(hold.held(99));
        assertEquals("a holder that vanished cannot stop the node's commits", List.of(waiting), hold.expire(100));
        assertTrue(hold.admission(101).isDone());
    }

    @Test
    public void deadlinesCompareAcrossTheWrapOfNanoTime() {
        CommitHold hold = new CommitHold();
        hold.hold(1, Long.MIN_VALUE + 10); // past Long.MAX_VALUE: 20 ns after now
        assertTrue(hold.held(Long.MAX_VALUE - 9));
        assertFalse(hold.held(Long.MIN_VALUE + 10));
    }

    @Test
    public void releasingAllAdmitsEveryWaitingCommit() {
        CommitHold hold = new CommitHold();
        hold.hold(1, 1_000);
        CompletableFuture<Void> a = hold.admission(0);
        CompletableFuture<Void> b = hold.admission(0);
        assertEquals(List.of(a, b), hold.releaseAll());
        assertFalse(hold.held(0));
    }

    @Test
    public void aHoldForAPlannedSwitchEndsOnceTheNodeIsInANewerGeneration() {
        CommitHold hold = new CommitHold();
        hold.holdUntilAbove(1, 1_000, 5);
        CompletableFuture<Void> waiting = hold.admission(0, 5);
        assertFalse(waiting.isDone());
        assertEquals("a switch under way (the gate says -1) holds on", List.of(), hold.expire(10, -1));
        assertEquals("still in generation 5", List.of(), hold.expire(10, 5));
        assertTrue("without a generation the hold stays", hold.held(10));
        assertEquals("in generation 6: the commit is stamped with it", List.of(waiting), hold.expire(20, 6));
        assertFalse(hold.held(20));
    }

    @Test
    public void aHoldForASwitchTakenInAGenerationAlreadyLeftHoldsNothing() {
        CommitHold hold = new CommitHold();
        hold.holdUntilAbove(1, 1_000, 5);
        assertTrue(hold.admission(0, 7).isDone());
    }

    @Test
    public void aHoldForAPlannedSwitchStillEndsAtItsDeadlineAndAnOrdinaryHoldOutlivesTheSwitch() {
        CommitHold hold = new CommitHold();
        hold.holdUntilAbove(1, 100, 5);
        hold.hold(2, 1_000);
        CompletableFuture<Void> waiting = hold.admission(0, 5);
        assertEquals("the consistent point's hold is still in force", List.of(), hold.expire(50, 6));
        assertEquals(List.of(waiting), hold.release(2, 60));
        hold.holdUntilAbove(3, 100, 6);
        CompletableFuture<Void> again = hold.admission(70, 6);
        assertEquals("a switch that never comes ends at the deadline", List.of(again), hold.expire(100, 6));
    }
}
