package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.ClusterState;
import org.mtm.api.Generation;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.StatusReport;
import org.mtm.api.Transport;
import org.mtm.testing.Await;

/**
 * The drain before a planned switch ({@link SwitchDrain}) on three hold services wired by an in-memory transport: each
 * member is told to hold its commits until it is in a generation above the current one, and the drain completes once
 * every reachable member's commits ended — or after its bound; a member out of reach is not waited for.
 */
public class SwitchDrainTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private static final Generation GEN_5 = new Generation(5, ALL, ALL);

    private final ExecutorService wire = Executors.newSingleThreadExecutor();
    private final Commits[] commits = {null, new Commits(), new Commits(), new Commits()};
    private final CommitHoldService[] nodes = new CommitHoldService[4];
    private volatile NodeSet reachable = ALL;
    private volatile boolean replyBeforeSendReturns;
    private final java.util.Map<Integer, java.util.concurrent.CountDownLatch> heldReached =
        new java.util.concurrent.ConcurrentHashMap<>();

    @After
    public void stop() {
        for (int i = 1; i <= 3; i++) {
            if (nodes[i] != null) {
                nodes[i].deactivate();
            }
        }
        wire.shutdownNow();
    }

    @Test
    public void completesOnceEveryMemberReportsItsCommitsEnded() throws Exception {
        start();
        commits[3].drained = false; // a commit of node 3's still in flight
        CompletableFuture<SwitchDrain.Drain> drain = nodes[1].drainBeforeSwitch(GEN_5, 5_000, 10_000).toCompletableFuture();
        for (int i = 1; i <= 3; i++) {
            int node = i;
            Await.equal(5_000, "node " + i + " holds until it is in a generation above 5", List.of("holdUntilSwitch 5"),
                () -> List.copyOf(commits[node].calls));
        }
        assertFalse("node 3 has a commit in flight", drain.isDone());
        commits[3].drained = true;
        assertTrue(drain.get(5, TimeUnit.SECONDS).drained());
    }

    @Test
    public void aReplyThatComesBackBeforeTheSenderGoesOnIsCounted() throws Exception {
        // node 1 is descheduled after each HOLD until the peer's HELD has reached it (a loaded machine, a fast link):
        // the drain must already be waiting for it (CI of session 23: a HELD dropped so, the drain ran out its bound)
        replyBeforeSendReturns = true;
        start();
        SwitchDrain.Drain drain = nodes[1].drainBeforeSwitch(GEN_5, 5_000, 10_000).toCompletableFuture()
            .get(4, TimeUnit.SECONDS);
        assertTrue(drain.drained());
    }

    @Test
    public void aMemberOutOfReachIsNotWaitedFor() throws Exception {
        start();
        reachable = NodeSet.of(1, 2);
        SwitchDrain.Drain drain = nodes[1].drainBeforeSwitch(GEN_5, 5_000, 10_000).toCompletableFuture()
            .get(2, TimeUnit.SECONDS);
        assertFalse("not every member drained", drain.drained());
        assertEquals(List.of(), commits[3].calls);
    }

    @Test
    public void aMemberThatDoesNotDrainInTimeDoesNotStopTheSwitch() throws Exception {
        start();
        commits[2].drained = false;
        long t = System.nanoTime();
        SwitchDrain.Drain drain = nodes[1].drainBeforeSwitch(GEN_5, 300, 10_000).toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
        assertFalse(drain.drained());
        assertTrue("waited for the bound", System.nanoTime() - t >= TimeUnit.MILLISECONDS.toNanos(300));
    }

    @Test
    public void aNonMemberAskingToJoinDrainsTheMembersOnlyAndReleasesThemWhenItsElectionIsLost() throws Exception {
        start();
        Generation twoOfThree = new Generation(5, NodeSet.of(1, 2), ALL);
        SwitchDrain.Drain drain = nodes[3].drainBeforeSwitch(twoOfThree, 5_000, 10_000).toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
        assertTrue(drain.drained());
        assertEquals("the joining node has no commits to hold", List.of(), commits[3].calls);
        drain.release();
        for (int i = 1; i <= 2; i++) {
            int node = i;
            Await.equal(5_000, "node " + i, List.of("holdUntilSwitch 5", "release"), () -> List.copyOf(commits[node].calls));
        }
    }

    private void start() {
        for (int i = 1; i <= 3; i++) {
            nodes[i] = new CommitHoldService(commits[i], transport(i), node(i));
        }
    }

    private Transport transport(int self) {
        return new Transport() {
            @Override
            public NodeSet reachablePeers() {
                return reachable.without(self);
            }

            @Override
            public NodeSet linkedPeers() {
                return reachablePeers();
            }

            @Override
            public boolean send(int peer, int channel, byte[] payload) {
                if (!reachable.contains(peer) || !reachable.contains(self)) {
                    return false;
                }
                java.util.concurrent.CountDownLatch replied = heldReached.computeIfAbsent(self * 10 + peer,
                    k -> new java.util.concurrent.CountDownLatch(1));
                wire.execute(() -> {
                    nodes[peer].onMessage(self, payload);
                    if (payload.length == 10) { // HELD: the reply to a HOLD
                        heldReached.computeIfAbsent(peer * 10 + self, k -> new java.util.concurrent.CountDownLatch(1))
                            .countDown();
                    }
                });
                if (replyBeforeSendReturns && payload.length > 10) { // a HOLD: wait for its HELD
                    try {
                        replied.await(2, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return true;
            }

            @Override
            public NodeSet broadcast(int channel, byte[] payload) {
                throw new UnsupportedOperationException();
            }
        };
    }

    private static ClusterState node(int self) {
        return new ClusterState() {
            @Override
            public boolean loaded() {
                return true;
            }

            @Override
            public int selfId() {
                return self;
            }

            @Override
            public Generation currentGeneration() {
                return GEN_5;
            }

            @Override
            public NodeStatus status() {
                return NodeStatus.ONLINE;
            }

            @Override
            public StatusReport statusReport() {
                throw new UnsupportedOperationException();
            }

            @Override
            public List<NodeReport> nodeReports() {
                return List.of();
            }

            @Override
            public org.mtm.api.ReplicationPlan replicationPlan() {
                return org.mtm.api.ReplicationPlan.NORMAL;
            }

            @Override
            public org.mtm.api.PrepareAdmission admitPrepare(long generation) {
                throw new UnsupportedOperationException();
            }
        };
    }

    /** A node's commits as the hold sees them: the calls it got, and whether its commits in flight have ended. */
    private static final class Commits implements LocalCommits {
        final List<String> calls = new CopyOnWriteArrayList<>();
        volatile boolean drained = true;

        @Override
        public void hold(long id, long millis) {
            calls.add("hold");
        }

        @Override
        public void holdUntilSwitch(long id, long millis, long generation) {
            calls.add("holdUntilSwitch " + generation);
        }

        @Override
        public void release(long id) {
            calls.add("release");
        }

        @Override
        public boolean drained() {
            return drained;
        }
    }
}
