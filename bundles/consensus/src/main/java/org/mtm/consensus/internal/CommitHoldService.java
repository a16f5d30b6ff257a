package org.mtm.consensus.internal;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.mtm.api.Channels;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterState;
import org.mtm.api.CommitHolds;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.PeerMessageHandler;
import org.mtm.api.Transport;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the cluster's commits at one point ({@link CommitHolds}): this node and every other member of its generation
 * hold new commits and report once the commits they had begun have ended; then no distributed transaction is between
 * its first PREPARE and its last COMMIT PREPARED anywhere, and snapshots taken meanwhile see the same ones. The same
 * hold drains the commit path before a planned generation switch ({@link SwitchDrain}). Messages on
 * {@link Channels#COMMIT_HOLD}: HOLD(id, hold ms, drain ms[, generation: the hold also ends once the receiver is in a
 * generation above it — an older receiver reads no further and holds until the deadline]), HELD(id, drained),
 * RELEASE(id).
 */
@Component(immediate = true, service = {CommitHolds.class, SwitchDrain.class, PeerMessageHandler.class},
    property = PeerMessageHandler.CHANNEL_PROPERTY + ":Integer=" + Channels.COMMIT_HOLD)
public final class CommitHoldService implements CommitHolds, SwitchDrain, PeerMessageHandler {
    private static final Logger LOG = LoggerFactory.getLogger(CommitHoldService.class);
    private static final byte HOLD = 1;
    private static final byte HELD = 2;
    private static final byte RELEASE = 3;
    /** How often a holding node looks whether its commits have ended. */
    private static final long DRAIN_POLL_MS = 2;

    private final LocalCommits commits;
    private final Transport transport;
    private final ClusterState clusterState;
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-commit-hold");
        t.setDaemon(true);
        return t;
    });
    private final SecureRandom random = new SecureRandom();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();

    @Activate
    public CommitHoldService(@Reference(name = "commits") LocalCommits commits, @Reference(name = "transport") Transport transport,
                             @Reference(name = "clusterState") ClusterState clusterState) {
        this.commits = commits;
        this.transport = transport;
        this.clusterState = clusterState;
    }

    @Deactivate
    void deactivate() {
        executor.shutdownNow();
        pending.values().forEach(p -> p.fail(new ClusterAdminException("57P01", "[multimaster] the commit hold of this node"
            + " is stopping (bundle update or shutdown); try again")));
    }

    /** One hold this node asked for: the nodes that have not reported drained yet. */
    private final class Pending {
        final long id;
        final NodeSet nodes;
        NodeSet waitingFor;
        final CompletableFuture<Hold> result = new CompletableFuture<>();

        Pending(long id, NodeSet nodes) {
            this.id = id;
            this.nodes = nodes;
            this.waitingFor = nodes;
        }

        synchronized void drained(int node) {
            waitingFor = waitingFor.without(node);
            if (waitingFor.isEmpty()) {
                pending.remove(id);
                result.complete(new Held(id, nodes));
            }
        }

        void fail(ClusterAdminException e) {
            pending.remove(id);
            if (result.completeExceptionally(e)) {
                releaseEverywhere(id, nodes);
            }
        }
    }

    private final class Held implements Hold {
        private final long id;
        private final NodeSet nodes;

        Held(long id, NodeSet nodes) {
            this.id = id;
            this.nodes = nodes;
        }

        @Override
        public NodeSet nodes() {
            return nodes;
        }

        @Override
        public void close() {
            releaseEverywhere(id, nodes);
        }
    }

    @Override
    public CompletionStage<Hold> holdCommits(Duration maxHold) {
        int self = clusterState.selfId();
        if (self == 0 || clusterState.status() != NodeStatus.ONLINE) {
            return CompletableFuture.failedFuture(new ClusterAdminException("55000", "[multimaster] node is not online: current"
                + " status \"" + clusterState.status().sqlName() + "\"; a consistent point needs an online node"));
        }
        Generation gen = clusterState.currentGeneration();
        long holdMs = Math.max(100, maxHold.toMillis());
        long drainMs = holdMs / 2; // the rest of the hold is for the caller's snapshots
        long id = random.nextLong();
        Pending p = new Pending(id, gen.members().with(self));
        pending.put(id, p);
        commits.hold(id, holdMs);
        for (int peer : gen.members().without(self).ids()) {
            if (!transport.send(peer, Channels.COMMIT_HOLD, hold(id, holdMs, drainMs))) {
                p.fail(new ClusterAdminException("55P03", "[multimaster] cannot hold the commits of node " + peer
                    + ": it is not connected; retry once every member of generation " + gen.num() + " is connected"));
                return p.result;
            }
        }
        awaitDrained(id, drainMs, drained -> {
            if (drained) {
                p.drained(self);
            }
        });
        executor.schedule(() -> {
            NodeSet late;
            synchronized (p) {
                late = p.waitingFor;
            }
            if (!late.isEmpty()) {
                p.fail(new ClusterAdminException("55P03", "[multimaster] nodes " + late + " did not report their commits done"
                    + " within " + drainMs + " ms (a long commit, a transaction in doubt — see mtm.in_doubt —, or an mtm"
                    + " too old to hold commits); try again"));
            }
        }, drainMs + 1000, TimeUnit.MILLISECONDS);
        return p.result;
    }

    @Override
    public CompletionStage<Drain> drainBeforeSwitch(Generation current, long drainMs, long holdMs) {
        int self = clusterState.selfId();
        long id = random.nextLong();
        NodeSet peers = current.members().without(self);
        // registered before the first HOLD goes out: a peer's HELD can come back before send() returns here
        Pending p = new Pending(id, current.isMember(self) ? peers.with(self) : peers);
        pending.put(id, p);
        NodeSet reached = NodeSet.EMPTY;
        for (int peer : peers.ids()) {
            if (transport.send(peer, Channels.COMMIT_HOLD, holdUntilSwitch(id, holdMs, drainMs, current.num()))) {
                reached = reached.with(peer);
            } else {
                p.drained(peer); // out of reach: not waited for
            }
        }
        NodeSet held = current.isMember(self) ? reached.with(self) : reached;
        boolean everyMember = held.containsAll(current.members());
        CompletableFuture<Drain> result = new CompletableFuture<>();
        Drain outcome = new Drain() {
            @Override
            public boolean drained() {
                return everyMember;
            }

            @Override
            public void release() {
                releaseEverywhere(id, held);
            }
        };
        if (held.isEmpty()) {
            pending.remove(id);
            result.complete(outcome);
            return result;
        }
        Drain late = new Drain() {
            @Override
            public boolean drained() {
                return false;
            }

            @Override
            public void release() {
                outcome.release();
            }
        };
        // failed: this service is stopping (its executor with it); the switch goes ahead undrained
        p.result.whenComplete((h, stopping) -> result.complete(stopping == null ? outcome : late));
        if (current.isMember(self)) {
            commits.holdUntilSwitch(id, holdMs, current.num());
            awaitDrained(id, drainMs, drained -> {
                if (drained) {
                    p.drained(self);
                }
            });
        }
        executor.schedule(() -> {
            if (pending.remove(id) != null && !result.isDone()) {
                NodeSet waiting;
                synchronized (p) {
                    waiting = p.waitingFor;
                }
                LOG.info("node {}: members {} did not report their commits done within {} ms before the switch from"
                    + " generation {}; switching all the same", self, waiting, drainMs, current.num());
                result.complete(late);
            }
        }, drainMs, TimeUnit.MILLISECONDS);
        return result;
    }

    /** Polls this node's commits until drained or {@code drainMs} passed; tells {@code then} which. */
    private void awaitDrained(long id, long drainMs, java.util.function.Consumer<Boolean> then) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(drainMs);
        Runnable[] poll = new Runnable[1];
        poll[0] = () -> {
            if (commits.drained()) {
                then.accept(true);
            } else if (System.nanoTime() - deadline >= 0) {
                then.accept(false);
            } else {
                executor.schedule(poll[0], DRAIN_POLL_MS, TimeUnit.MILLISECONDS);
            }
        };
        executor.execute(poll[0]);
    }

    private void releaseEverywhere(long id, NodeSet nodes) {
        int self = clusterState.selfId();
        commits.release(id);
        for (int peer : nodes.without(self).ids()) {
            transport.send(peer, Channels.COMMIT_HOLD, ByteBuffer.allocate(9).put(RELEASE).putLong(id).array());
        }
    }

    @Override
    public void onMessage(int fromNode, byte[] payload) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        if (b.remaining() < 9) {
            LOG.warn("node {}: commit hold message of {} bytes from node {} ignored", clusterState.selfId(), payload.length, fromNode);
            return;
        }
        byte kind = b.get();
        long id = b.getLong();
        switch (kind) {
            case HOLD -> {
                long holdMs = b.getInt();
                long drainMs = b.getInt();
                if (b.remaining() >= 8) {
                    commits.holdUntilSwitch(id, holdMs, b.getLong());
                } else {
                    commits.hold(id, holdMs);
                }
                awaitDrained(id, drainMs, drained -> transport.send(fromNode, Channels.COMMIT_HOLD,
                    ByteBuffer.allocate(10).put(HELD).putLong(id).put((byte) (drained ? 1 : 0)).array()));
            }
            case HELD -> {
                Pending p = pending.get(id);
                if (p != null && b.hasRemaining() && b.get() == 1) {
                    p.drained(fromNode);
                }
            }
            case RELEASE -> commits.release(id);
            default -> LOG.warn("node {}: unknown commit hold message {} from node {}", clusterState.selfId(), kind, fromNode);
        }
    }

    private static byte[] holdUntilSwitch(long id, long holdMs, long drainMs, long generation) {
        return ByteBuffer.allocate(25).put(HOLD).putLong(id).putInt((int) holdMs).putInt((int) drainMs).putLong(generation)
            .array();
    }

    private static byte[] hold(long id, long holdMs, long drainMs) {
        return ByteBuffer.allocate(17).put(HOLD).putLong(id).putInt((int) holdMs).putInt((int) drainMs).array();
    }
}
