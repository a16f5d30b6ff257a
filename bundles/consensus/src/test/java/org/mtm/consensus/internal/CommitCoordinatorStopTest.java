package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.ClusterState;
import org.mtm.api.Coordinator.CommitRefusedException;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;

/**
 * The coordinator's side of a bundle update (hot-swap rule): once deactivated it refuses new transactions, and
 * every transaction it knew — undecided, or begun just before and prepared just after — gets a decision (abort,
 * 40001) instead of an exception or silence, which left the transaction prepared on every node (found by
 * HotSwapIT: the decision's delivery was rejected by the executor the deactivation had shut down).
 */
public class CommitCoordinatorStopTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);

    private static final ClusterState STATE = CoordinatorFixtures.node1Of(() -> new Generation(1, ALL, ALL));

    private final CommitCoordinator coordinator = new CommitCoordinator(STATE, CoordinatorFixtures.SILENT_PEERS, null,
        new SilentResolver(), CoordinatorFixtures.gateIn(STATE.currentGeneration().num()), CoordinatorFixtures.CONFIG);

    @After
    public void stop() {
        coordinator.deactivate();
    }

    @Test
    public void anUndecidedTransactionIsAbortedWith40001WhenTheCoordinatorStops() throws Exception {
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid); // waits for the votes of 2 and 3, which never come
        assertFalse(decision.isDone());
        coordinator.deactivate();
        Decision d = decision.get(5, TimeUnit.SECONDS);
        assertFalse(d.commit());
        assertEquals("40001", d.sqlState());
        assertTrue(d.message(), d.message().contains("being restarted"));
    }

    @Test
    public void aTransactionBegunBeforeTheStopAndPreparedAfterItGetsItsAbortDecision() throws Exception {
        Gid gid = coordinator.begin(101);
        coordinator.deactivate(); // the gateway runs PREPARE TRANSACTION meanwhile
        Decision d = coordinator.prepared(gid).get(5, TimeUnit.SECONDS);
        assertFalse(d.commit());
        assertEquals("40001", d.sqlState());
    }

    @Test
    public void aCommitFinishedWhileTheCoordinatorStopsIsNotTurnedIntoAnError() throws Exception {
        Gid gid = coordinator.begin(103);
        coordinator.deactivate(); // after COMMIT PREPARED on a single-member path, or any late committed() call
        coordinator.committed(gid).get(5, TimeUnit.SECONDS);
    }

    @Test
    public void stoppingDoesNotWaitForPendingDecisionTimeouts() throws Exception {
        coordinator.begin(104); // schedules its 60 s decision timeout
        long start = System.nanoTime();
        coordinator.deactivate();
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue("deactivation took " + ms + " ms: it waited for the timeout (it used to wait 5 s)", ms < 4000);
    }

    @Test
    public void aStoppedCoordinatorRefusesNewTransactionsRetryably() {
        coordinator.deactivate();
        CommitRefusedException refused = assertThrows(CommitRefusedException.class, () -> coordinator.begin(102));
        assertEquals("40001", refused.sqlState());
    }
}
