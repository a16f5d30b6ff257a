package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;

/**
 * The decision timeout waits for silence, not for a fixed time: a participant still applying a large transaction says
 * so ({@link Kind#APPLYING}) and the wait for its vote starts again, so a bulk load whose peers take longer than the
 * timeout to apply it commits instead of being rolled back (a 1M-row {@code pgbench -i} through a gateway of a loaded
 * 2-core machine was); a participant that falls silent still ends the transaction after one timeout.
 */
public class CommitCoordinatorApplyingTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final long TIMEOUT_MS = 400;

    private final SilentResolver resolver = new SilentResolver();

    private final CommitCoordinator coordinator = new CommitCoordinator(
        CoordinatorFixtures.node1Of(() -> new Generation(1, ALL, ALL)), CoordinatorFixtures.SILENT_PEERS, null,
        resolver, CoordinatorFixtures.gateIn(1), CoordinatorFixtures.CONFIG);

    @After
    public void stop() {
        coordinator.deactivate();
    }

    @Test
    public void notesOfParticipantsStillApplyingKeepTheWaitGoingUntilTheyFallSilent() throws Exception {
        coordinator.decisionTimeout(TIMEOUT_MS);
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid); // the votes of 2 and 3 never come
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(4 * TIMEOUT_MS);
        while (System.nanoTime() < end) {
            coordinator.onMessage(2, CommitMessage.of(Kind.APPLYING, gid).encode());
            coordinator.onMessage(3, CommitMessage.of(Kind.APPLYING, gid).encode());
            Thread.sleep(TIMEOUT_MS / 4); // a gap on purpose: notes spread over four of the coordinator's real timeouts
        }
        assertFalse("four timeouts long, and both participants said they are still applying it", decision.isDone());

        Decision d = decision.get(5, TimeUnit.SECONDS); // silence from here: one timeout
        assertFalse(d.commit());
        assertEquals("57014", d.sqlState());
        assertTrue(d.message(), d.message().contains("no decision for transaction " + gid));
    }

    @Test
    public void aNoteFromANodeThatIsNotAParticipantDoesNotExtendTheWait() throws Exception {
        coordinator.decisionTimeout(TIMEOUT_MS);
        Gid gid = coordinator.begin(101);
        var decision = coordinator.prepared(gid);
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3 * TIMEOUT_MS);
        while (System.nanoTime() < end && !decision.isDone()) {
            coordinator.onMessage(4, CommitMessage.of(Kind.APPLYING, gid).encode());
            Thread.sleep(TIMEOUT_MS / 4); // a gap on purpose: the notes are spread over the real timeout
        }
        assertTrue("node 4 takes no part in it: the wait ended after one timeout", decision.isDone());
        assertEquals("57014", decision.get().sqlState());
    }

    /**
     * The coordinator's own PREPARE may be the last vote in (its peers prepared a small copy at once while its own
     * server took long to prepare): the precommit round then gets a whole wait of its own, as when a peer's vote is last.
     */
    @Test
    public void theCoordinatorsOwnPrepareLastGivesThePrecommitsAWaitOfTheirOwn() throws Exception {
        coordinator.decisionTimeout(TIMEOUT_MS);
        Gid gid = coordinator.begin(102);
        coordinator.onMessage(2, CommitMessage.of(Kind.PREPARED, gid).encode());
        coordinator.onMessage(3, CommitMessage.of(Kind.PREPARED, gid).encode());
        Thread.sleep(3 * TIMEOUT_MS / 4); // on purpose: the local PREPARE comes late in the decision's wait
        var decision = coordinator.prepared(gid); // the last vote: the precommits are asked for (and never answered)
        Thread.sleep(TIMEOUT_MS / 2); // past the first wait's end, within a wait begun at the last vote
        synchronized (resolver) {
            assertEquals("the precommit round was asked for", 1, resolver.precommitsRequested.size());
            assertTrue("no timeout " + TIMEOUT_MS / 2 + " ms into the precommit round's own wait",
                resolver.resolutionsRequested.isEmpty());
        }
        assertFalse(decision.isDone());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < end && resolverAsked() == 0) {
            Thread.sleep(10); // a poll with a deadline (see the loop's condition)
        }
        assertEquals("the silent precommit round ends in one wait: the resolver is asked", 1, resolverAsked());
    }

    private int resolverAsked() {
        synchronized (resolver) {
            return resolver.resolutionsRequested.size();
        }
    }
}
