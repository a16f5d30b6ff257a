package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.resolver.AcceptorState;
import org.mtm.consensus.internal.resolver.Knowledge;
import org.mtm.consensus.internal.resolver.Knowledge.LocalCopy;
import org.mtm.consensus.internal.resolver.ResolverMessage;
import org.mtm.consensus.internal.resolver.Term;

/**
 * The decision to commit goes to the other participants as soon as it is taken — when a majority accepted the
 * precommit, before this node's own COMMIT PREPARED — and only then: their appliers commit their prepared copies at
 * once instead of waiting for the COMMIT PREPARED in this node's stream. Nothing is sent while voting, nor for an abort.
 */
public class CommitCoordinatorEarlyCommitTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private final SilentResolver resolver = new SilentResolver();
    private final RecordingPeers recording = new RecordingPeers();
    private final List<String> sent = recording.sent;
    private final CommitCoordinator coordinator = new CommitCoordinator(
        CoordinatorFixtures.node1Of(() -> new Generation(1, ALL, ALL)), recording, null, resolver,
        CoordinatorFixtures.gateIn(1), CoordinatorFixtures.CONFIG);

    @After
    public void stop() {
        coordinator.deactivate();
    }

    private static byte[] vote(Kind kind, Gid gid) {
        return (kind == Kind.ABORTED ? CommitMessage.abortedVote(gid, "40001", "conflict") : CommitMessage.of(kind, gid)).encode();
    }

    private static ResolverMessage accepted(Gid gid) {
        return ResolverMessage.accepted(gid, Term.COORDINATOR, true, new Knowledge(AcceptorState.FRESH, LocalCopy.PREPARED));
    }

    @Test
    public void theDecisionToCommitGoesToEveryOtherParticipantOnceWhenTaken() throws Exception {
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid);
        coordinator.onMessage(2, vote(Kind.PREPARED, gid));
        coordinator.onMessage(3, vote(Kind.PREPARED, gid));
        assertEquals("precommit asked for", List.of(gid), resolver.precommitsRequested);
        coordinator.precommitAnswered(1, accepted(gid));
        synchronized (recording) {
            assertTrue("nothing before the commit point: " + sent, sent.isEmpty());
        }
        coordinator.precommitAnswered(2, accepted(gid)); // a majority of three: decided
        coordinator.precommitAnswered(3, accepted(gid)); // late: changes nothing
        Decision d = decision.get(5, TimeUnit.SECONDS);
        assertTrue(d.commit());
        synchronized (recording) {
            assertEquals(List.of("COMMIT " + gid + " to 2", "COMMIT " + gid + " to 3"), sent);
        }
    }

    @Test
    public void anAbortSendsNoCommit() throws Exception {
        Gid gid = coordinator.begin(101);
        var decision = coordinator.prepared(gid);
        coordinator.onMessage(2, vote(Kind.PREPARED, gid));
        coordinator.onMessage(3, vote(Kind.ABORTED, gid));
        Decision d = decision.get(5, TimeUnit.SECONDS);
        assertTrue(!d.commit());
        synchronized (recording) {
            assertTrue("no COMMIT for an aborted transaction: " + sent, sent.stream().noneMatch(s -> s.startsWith("COMMIT ")));
        }
    }
}
