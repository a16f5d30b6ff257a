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

    private final CommitCoordinator coordinator = new CommitCoordinator(
        CoordinatorFixtures.node1Of(() -> new Generation(1, ALL, ALL)), CoordinatorFixtures.SILENT_PEERS, null,
        new SilentResolver(), CoordinatorFixtures.gateIn(1), CoordinatorFixtures.CONFIG);

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
}
