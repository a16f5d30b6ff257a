package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;

/**
 * While a transaction is undecided (a large one another peer is still applying), its coordinator tells the participants
 * that prepared it, every {@link CommitMessage#APPLYING_NOTE_MS}, that it is at work on it ({@link Kind#COORDINATING});
 * a participant's coordinator passes such a note from the transaction's own coordinator to its resolver. Without the
 * notes the early participant's resolver took the coordinator for one that forgot the copy after 10 s and aborted it
 * (a 1M-row bulk load through gateway 1 of a loaded machine).
 */
public class CommitCoordinatorAtWorkTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);

    private final RecordingPeers recording = new RecordingPeers();
    private final SilentResolver resolver = new SilentResolver();
    private final CommitCoordinator coordinator = new CommitCoordinator(
        CoordinatorFixtures.node1Of(() -> new Generation(1, ALL, ALL)), recording, null, resolver,
        CoordinatorFixtures.gateIn(1), CoordinatorFixtures.CONFIG);

    @After
    public void stop() {
        coordinator.deactivate();
    }

    @Test
    public void theParticipantThatPreparedHearsEveryIntervalThatItsCoordinatorIsAtWork() throws Exception {
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid);
        coordinator.onMessage(3, CommitMessage.of(Kind.PREPARED, gid).encode()); // node 2 still applies it
        Thread.sleep(CommitMessage.APPLYING_NOTE_MS + 1_500);
        List<String> notes;
        synchronized (recording) {
            notes = recording.sent.stream().filter(s -> s.startsWith("COORDINATING ")).toList();
        }
        assertEquals("one note after one interval, to node 3 only (node 2 has not prepared it)",
            List.of("COORDINATING " + gid + " to 3"), notes);
        assertTrue("still waiting for node 2", !decision.isDone());
    }

    @Test
    public void aNoteFromTheTransactionsCoordinatorGoesToTheResolverAndNoOtherDoes() {
        Gid ofNode2 = new Gid(2, 7, 1);
        coordinator.onMessage(2, CommitMessage.of(Kind.COORDINATING, ofNode2).encode());
        coordinator.onMessage(3, CommitMessage.of(Kind.COORDINATING, new Gid(2, 8, 1)).encode()); // not node 3's
        synchronized (resolver) {
            assertEquals(List.of(ofNode2), resolver.coordinatorsAtWork);
        }
    }
}
