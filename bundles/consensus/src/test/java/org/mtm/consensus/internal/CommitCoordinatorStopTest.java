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

    /** Each outcome is counted once by its SQLSTATE, in the registry bound; refusals included. */
    @Test
    public void outcomesAreCountedOnceBySqlState() throws Exception {
        com.codahale.metrics.MetricRegistry shared = new com.codahale.metrics.MetricRegistry();
        coordinator.bindMetricRegistry(shared);
        Gid gid = coordinator.begin(105);
        var decision = coordinator.prepared(gid);
        coordinator.onMessage(2, org.mtm.api.CommitMessage.abortedVote(gid, "23505", "duplicate key").encode());
        coordinator.onMessage(3, org.mtm.api.CommitMessage.of(org.mtm.api.CommitMessage.Kind.PREPARED, gid).encode()); // late
        assertEquals("23505", decision.get(5, TimeUnit.SECONDS).sqlState());
        coordinator.aborted(gid); // the gateway rolled its copy back
        assertEquals(1, shared.counter("mtm.commit.aborted.23505").getCount());
        assertEquals(0, shared.counter("mtm.commit.committed").getCount());
        assertEquals(0, shared.timer("mtm.commit.latency").getCount());
        coordinator.deactivate();
        assertThrows(CommitRefusedException.class, () -> coordinator.begin(106));
        assertEquals(1, coordinator.metrics().counter("mtm.commit.aborted.40001").getCount());
        assertFalse("a stopped coordinator takes its metrics out of the shared registry",
            shared.getCounters().containsKey("mtm.commit.aborted.40001"));
    }

    @Test
    public void aStoppedCoordinatorRefusesNewTransactionsRetryably() {
        coordinator.deactivate();
        CommitRefusedException refused = assertThrows(CommitRefusedException.class, () -> coordinator.begin(102));
        assertEquals("40001", refused.sqlState());
    }
}
