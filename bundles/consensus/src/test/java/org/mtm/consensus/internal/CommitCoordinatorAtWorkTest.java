package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;
import org.mtm.testing.Await;

/**
 * While a transaction is undecided (a large one another peer is still applying), its coordinator tells the participants
 * that prepared it, every {@link CommitMessage#APPLYING_NOTE_MS}, that it is at work on it ({@link Kind#COORDINATING});
 * a participant's coordinator passes such a note from the transaction's own coordinator to its resolver. Without the
 * notes the early participant's resolver took the coordinator for one that forgot the copy after 10 s and aborted it
 * (a 1M-row bulk load through gateway 1 of a loaded machine).
 */
public class CommitCoordinatorAtWorkTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final long INTERVAL = TimeUnit.MILLISECONDS.toNanos(CommitMessage.APPLYING_NOTE_MS);

    private final RecordingPeers recording = new RecordingPeers();
    private final SilentResolver resolver = new SilentResolver();
    private final CommitCoordinator coordinator = new CommitCoordinator(
        CoordinatorFixtures.node1Of(() -> new Generation(1, ALL, ALL)), recording, null, resolver,
        CoordinatorFixtures.gateIn(1), CoordinatorFixtures.CONFIG);

    @After
    public void stop() {
        coordinator.deactivate();
    }

    /**
     * The notes' clock is driven here. The coordinator's timer looks at it every 100 ms; the test also runs that round
     * itself, so what is due has been decided once it returns (the timer may be the one that sends: it is awaited).
     */
    @Test
    public void theParticipantThatPreparedHearsEveryIntervalThatItsCoordinatorIsAtWork() throws Exception {
        AtomicLong clock = new AtomicLong();
        coordinator.noteClock(clock::get);
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid);
        coordinator.onMessage(3, CommitMessage.of(Kind.PREPARED, gid).encode()); // node 2 still applies it
        clock.set(INTERVAL - 1);
        coordinator.noteWhatIsStillUndecided();
        clock.set(INTERVAL);
        coordinator.noteWhatIsStillUndecided();
        Await.until(10_000, "a note", () -> !notes().isEmpty());
        assertEquals("one note after one interval, to node 3 only (node 2 has not prepared it)",
            List.of("COORDINATING " + gid + " to 3"), notes());
        clock.set(2 * INTERVAL);
        coordinator.noteWhatIsStillUndecided();
        Await.until(10_000, "a second note", () -> notes().size() == 2);
        assertEquals(List.of("COORDINATING " + gid + " to 3", "COORDINATING " + gid + " to 3"), notes());
        assertTrue("still waiting for node 2", !decision.isDone());
    }

    /** Each transaction's interval runs from its own begin: one decided within it costs no note. */
    @Test
    public void aTransactionYoungerThanTheIntervalIsNotNoted() throws Exception {
        AtomicLong clock = new AtomicLong();
        coordinator.noteClock(clock::get);
        Gid older = coordinator.begin(100);
        coordinator.prepared(older);
        coordinator.onMessage(3, CommitMessage.of(Kind.PREPARED, older).encode());
        clock.set(1);
        Gid younger = coordinator.begin(101);
        coordinator.prepared(younger);
        coordinator.onMessage(3, CommitMessage.of(Kind.PREPARED, younger).encode());
        clock.set(INTERVAL); // one nanosecond short of the younger one's interval
        coordinator.noteWhatIsStillUndecided();
        Await.until(10_000, "the older one's note", () -> !notes().isEmpty());
        assertEquals(List.of("COORDINATING " + older + " to 3"), notes());
    }

    private List<String> notes() {
        synchronized (recording) {
            return recording.sent.stream().filter(s -> s.startsWith("COORDINATING ")).toList();
        }
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
