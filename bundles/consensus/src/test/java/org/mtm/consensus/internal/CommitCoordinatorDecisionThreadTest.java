package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.resolver.AcceptorState;
import org.mtm.consensus.internal.resolver.Knowledge;
import org.mtm.consensus.internal.resolver.Knowledge.LocalCopy;
import org.mtm.consensus.internal.resolver.ResolverMessage;
import org.mtm.consensus.internal.resolver.Term;

/**
 * The decision reaches the gateway on the thread that took it — the transport's event loop that brought the answer
 * completing the majority, or the one that brought the last vote of an abort — not through a hop to the coordinator's
 * timer thread: with one client that hop was one more thread wake-up on every commit's critical path (issue 10 item 2).
 * The gateway's continuation only queues COMMIT/ROLLBACK PREPARED on its session's event loop.
 */
public class CommitCoordinatorDecisionThreadTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private final SilentResolver resolver = new SilentResolver();
    private final CommitCoordinator coordinator = new CommitCoordinator(
        CoordinatorFixtures.node1Of(() -> new Generation(1, ALL, ALL)), CoordinatorFixtures.SILENT_PEERS, null, resolver,
        CoordinatorFixtures.gateIn(1), CoordinatorFixtures.CONFIG);

    @After
    public void stop() {
        coordinator.deactivate();
    }

    private static ResolverMessage accepted(Gid gid) {
        return ResolverMessage.accepted(gid, Term.COORDINATOR, true, new Knowledge(AcceptorState.FRESH, LocalCopy.PREPARED));
    }

    /** Runs {@code r} on a thread named {@code name} and waits for it. */
    private static void on(String name, Runnable r) throws InterruptedException {
        Thread t = new Thread(r, name);
        t.start();
        t.join(5000);
    }

    @Test
    public void aCommitDecisionContinuesOnTheThreadOfTheAnswerThatCompletedTheMajority() throws Exception {
        Gid gid = coordinator.begin(200);
        CompletableFuture<String> continuedOn = coordinator.prepared(gid).thenApply(d -> {
            assertTrue(d.commit());
            return Thread.currentThread().getName();
        });
        coordinator.onMessage(2, CommitMessage.of(Kind.PREPARED, gid).encode());
        coordinator.onMessage(3, CommitMessage.of(Kind.PREPARED, gid).encode());
        coordinator.precommitAnswered(1, accepted(gid));
        on("answer-from-node-2", () -> coordinator.precommitAnswered(2, accepted(gid)));
        assertEquals("answer-from-node-2", continuedOn.get(5, TimeUnit.SECONDS));
    }

    @Test
    public void anAbortDecisionContinuesOnTheThreadOfTheNoVote() throws Exception {
        Gid gid = coordinator.begin(201);
        CompletableFuture<String> continuedOn = coordinator.prepared(gid).thenApply(d -> {
            assertTrue(!d.commit());
            return Thread.currentThread().getName();
        });
        on("vote-from-node-3", () -> coordinator.onMessage(3,
            CommitMessage.abortedVote(gid, "40001", "conflict").encode()));
        assertEquals("vote-from-node-3", continuedOn.get(5, TimeUnit.SECONDS));
    }
}
