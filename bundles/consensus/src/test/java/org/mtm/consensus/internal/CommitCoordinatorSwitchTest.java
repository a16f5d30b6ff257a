package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;

/**
 * A participant the cluster excluded ends the transactions that wait for it as a lost one would: node 3, cut off
 * from node 1 only (an edge partition), is left out of the new generation {1,2} but stays reachable from node 2,
 * whose coordinator waited the whole decision timeout for its vote — the transaction stayed prepared on node 2 after
 * the others had rolled it back (fault battery). Now it is aborted with 40001 as soon as the generation changes.
 */
public class CommitCoordinatorSwitchTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private volatile Generation generation = new Generation(1, ALL, ALL);

    private final GenerationGate gate = CoordinatorFixtures.gateIn(1);
    private final CommitCoordinator coordinator = new CommitCoordinator(
        CoordinatorFixtures.node1Of(() -> generation), CoordinatorFixtures.SILENT_PEERS, null, new SilentResolver(),
        gate, CoordinatorFixtures.CONFIG);

    @After
    public void stop() {
        coordinator.deactivate();
    }

    @Test
    public void aTransactionWaitingForAMemberTheNewGenerationLeftOutIsAbortedAtOnce() throws Exception {
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid); // waits for the votes of 2 and 3, which never come
        Thread.sleep(300); // a gap on purpose: a few of the membership checks (every 100 ms) in an unchanged generation
        assertFalse("still voting in generation 1", decision.isDone());
        generation = new Generation(2, NodeSet.of(1, 2), ALL); // node 3 left out; still reachable from here
        Decision d = decision.get(5, TimeUnit.SECONDS); // the decision timeout is 60 s
        assertFalse(d.commit());
        assertEquals("40001", d.sqlState());
        assertTrue(d.message(), d.message().contains("node 3 left the cluster's generation"));
    }

    @Test
    public void aGenerationThatKeepsEveryParticipantChangesNothing() throws Exception {
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid);
        generation = new Generation(2, ALL, ALL);
        Thread.sleep(500); // a gap on purpose: membership checks (every 100 ms) see the new generation, and abort nothing
        assertFalse("every participant is still a member: the votes are awaited", decision.isDone());
    }

    /**
     * Issue 15: a commit reaching begin() while this node switches generation has prepared nothing: it waits for the
     * switch and is stamped with the new generation, instead of failing with 40001 (UpgradeIT's writers saw runs of
     * such refusals, one after the other for the switch's duration).
     */
    @Test
    public void aCommitBegunDuringASwitchWaitsForItAndIsStampedWithTheNewGeneration() throws Exception {
        java.util.concurrent.atomic.AtomicReference<Exception> during = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CompletableFuture<Void>> admission =
            new java.util.concurrent.atomic.AtomicReference<>();
        gate.switchTo(2, () -> {
            generation = new Generation(2, ALL, ALL); // the state changes inside the switch, the gate after it
            try {
                coordinator.begin(100);
            } catch (Exception e) {
                during.set(e);
            }
            admission.set(coordinator.admission().toCompletableFuture());
            assertFalse("admitted again only once the switch ended", admission.get().isDone());
        });
        assertTrue(String.valueOf(during.get()), during.get() instanceof org.mtm.api.Coordinator.CommitsHeldException);
        admission.get().get(5, TimeUnit.SECONDS);
        Gid gid = coordinator.begin(100);
        assertEquals(2, gid.generation());
        coordinator.aborted(gid);
    }

    /** A hold for a planned switch ends on this node as soon as it is in a newer generation. */
    @Test
    public void aHoldForAPlannedSwitchEndsWhenThisNodeSwitched() throws Exception {
        coordinator.holdUntilSwitch(7, 60_000, 1);
        try {
            coordinator.begin(100);
            org.junit.Assert.fail("begin() while commits are held");
        } catch (org.mtm.api.Coordinator.CommitsHeldException expected) {
            // waits for its admission
        }
        var admitted = coordinator.admission().toCompletableFuture();
        Thread.sleep(100); // a gap on purpose: the hold's polls (every 5 ms) in generation 1 let nothing through
        assertFalse("held while the node is in generation 1", admitted.isDone());
        generation = new Generation(2, ALL, ALL);
        gate.switchTo(2, () -> { });
        admitted.get(5, TimeUnit.SECONDS); // the hold's own deadline is a minute away
        Gid gid = coordinator.begin(101);
        assertEquals(2, gid.generation());
        coordinator.aborted(gid);
    }
}
