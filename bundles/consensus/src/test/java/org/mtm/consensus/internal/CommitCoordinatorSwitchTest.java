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

    private final CommitCoordinator coordinator = new CommitCoordinator(
        CoordinatorFixtures.node1Of(() -> generation), CoordinatorFixtures.SILENT_PEERS, null, new SilentResolver(),
        CoordinatorFixtures.gateIn(1), CoordinatorFixtures.CONFIG);

    @After
    public void stop() {
        coordinator.deactivate();
    }

    @Test
    public void aTransactionWaitingForAMemberTheNewGenerationLeftOutIsAbortedAtOnce() throws Exception {
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid); // waits for the votes of 2 and 3, which never come
        Thread.sleep(300);
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
        Thread.sleep(500);
        assertFalse("every participant is still a member: the votes are awaited", decision.isDone());
    }
}
