package org.mtm.consensus.internal;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.mtm.api.Channels;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.RefereeReport;
import org.mtm.api.RecoveryProgress;
import org.mtm.api.Replication;
import org.mtm.api.Transport;
import org.mtm.consensus.internal.generation.Adoption;
import org.mtm.consensus.internal.generation.Campaigner;
import org.mtm.consensus.internal.generation.ElectionAnswer;
import org.mtm.consensus.internal.generation.ElectionRequest;
import org.mtm.consensus.internal.generation.GenerationAnnounce;
import org.mtm.consensus.internal.generation.GenerationMessage;
import org.mtm.consensus.internal.generation.MembershipChange;
import org.mtm.consensus.internal.generation.NodePlan;
import org.mtm.consensus.internal.generation.Voter;
import org.mtm.consensus.internal.generation.VoteResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part of the generation protocol (DESIGN §3), on one thread: every {@value #TICK_MS} ms it adopts a
 * newer generation a connected peer announces, goes online once its recovery reached the donor's marker, and lets
 * the {@link Campaigner} start an election; messages on {@link Channels#GENERATION} are handled on the same thread.
 * The rules are the pure classes of package {@code generation}; this class only moves their inputs and outputs
 * between the transport, PostgreSQL ({@link Host#save}: flushed before anything is sent) and the node's state.
 */
final class GenerationRunner {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationRunner.class);
    static final long TICK_MS = 100;
    /** A catching-up node asks to join once it is this close to its donor's WAL end. */
    static final long CAUGHT_UP_BYTES = 256 * 1024;

    /** What the runner needs of the node. */
    interface Host {
        int selfId();

        GenerationState state();

        Connectivity connectivity();

        Transport transport();

        RecoveryProgress recovery();

        /**
         * Persists {@code next} (flushed) and makes it the node's state; with {@code marker} it is a generation switch
         * that logs the ParallelSafe marker and goes online. Throws when it could not be persisted: nothing changed.
         */
        void save(GenerationState next, boolean marker, boolean switching) throws Exception;

        /** The node recorded that it cannot recover by itself ({@link #disable}). */
        boolean disabled();

        /** Records durably (flushed) that the node cannot recover by itself, and why; it then runs nothing. */
        void disable(String why) throws Exception;

        /** The referee of a 2+1 cluster ({@code referee_connstring}); null when none is configured. */
        RefereeClient refereeClient();

        /** This node's status now (a change of the configured set needs an online node). */
        NodeStatus status();

        /**
         * The nodes of this node's catalog ({@code mtm.cluster_nodes}): an added node is there before the generation
         * that configures it is elected (mtm.add_node writes it first), so a beacon naming it may be adopted.
         */
        default NodeSet known() {
            return NodeSet.EMPTY;
        }

        /**
         * Drains the commits of {@code current}'s members before a planned switch this node elects ({@link
         * SwitchDrain}); without the hold service, at once and not drained.
         */
        default CompletionStage<SwitchDrain.Drain> drainBeforeSwitch(Generation current, long drainMs, long holdMs) {
            return CompletableFuture.completedFuture(NOT_DRAINED);
        }

        /** Joined by mtm.join_node and its own replication slots not made yet: it must not go online. */
        default boolean joinSlotsPending() {
            return false;
        }
    }

    /** How long a planned switch waits for the members' commits to drain before it is elected all the same. */
    static final long DRAIN_MS = 1_000;
    /** How long the members hold new commits at most for a planned switch: the drain, the election, the adoption. */
    static final long DRAIN_HOLD_MS = DRAIN_MS + Campaigner.ELECTION_TIMEOUT_MS + 1_000;
    /** No drain happened (no hold service): the switch runs as an unplanned one does. */
    static final SwitchDrain.Drain NOT_DRAINED = new SwitchDrain.Drain() {
        @Override
        public boolean drained() {
            return false;
        }

        @Override
        public void release() {
        }
    };

    /** The request of a planned switch waiting for its drain; runner thread only. */
    private ElectionRequest draining;
    /** The members' hold for the last planned switch, and the generation it was taken in; runner thread only. */
    private SwitchDrain.Drain drainHeld;
    private long drainHeldIn;

    /** How long mtm.drop_node tries to win its election before it gives up (each try takes at most a second). */
    static final long CHANGE_TIMEOUT_MS = 15_000;
    /** Pause between two tries of a change whose election was lost. */
    static final long CHANGE_RETRY_MS = 300;

    /** A drop (mtm.drop_node) or addition (mtm.add_node) asked for, until adopted here or failed; runner thread only. */
    private PendingDrop pendingDrop;
    /** When this node may next try to complete a change it voted for ({@link MembershipChange#completion}). */
    private long nextCompletion;

    private static final class PendingDrop {
        final int node;
        /** mtm.add_node: the node joins the configured set instead of leaving it. */
        final boolean add;
        final CompletableFuture<Generation> done = new CompletableFuture<>();
        final long deadline;
        long nextTry;
        /** Elections asked so far: every one after the first waits as a campaign does ({@link Campaigner}). */
        int tries;
        String lastLoss = "";

        PendingDrop(int node, boolean add, long deadline) {
            this.node = node;
            this.add = add;
            this.deadline = deadline;
        }

        String verb() {
            return add ? "add" : "drop";
        }

        boolean adopted(Generation gen) {
            return add == gen.configured().contains(node);
        }

        Generation next(int self, Generation gen, NodeStatus status) throws ClusterAdminException {
            return add ? MembershipChange.add(gen, status, node) : MembershipChange.drop(self, gen, status, node);
        }
    }

    private final Host host;
    private final Campaigner campaigner;
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-generations");
        t.setDaemon(true);
        return t;
    });
    private String lastProblem;
    /** The wait for a joined node's own slots was logged (once). */
    private boolean slotsWaitLogged;
    private boolean slotsCampaignWaitLogged;
    /** The (generation, last vote) the referee last confirmed a clear for: asked again only when either grows. */
    private String clearedFor = "";
    private boolean clearing;

    GenerationRunner(Host host, int self) {
        this.host = host;
        this.campaigner = new Campaigner(self, System.nanoTime());
    }

    void start() {
        loop.scheduleWithFixedDelay(this::guardedTick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    void stop() {
        loop.shutdownNow();
        try {
            loop.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * {@code mtm.drop_node(node)}: an election of the generation with {@code node} left out of members and configured
     * (rules: {@link MembershipChange}), retried while lost, until this node adopted it. Completes with that
     * generation, or fails with a {@link ClusterAdminException} carrying the rules' SQLSTATE.
     */
    CompletableFuture<Generation> dropNode(int node) {
        return change(node, false);
    }

    /**
     * {@code mtm.add_node}: an election of the generation with {@code node} added to the configured set (not to the
     * members: it joins later, mtm.join_node), retried while lost, until this node adopted it.
     */
    CompletableFuture<Generation> addNode(int node) {
        return change(node, true);
    }

    private CompletableFuture<Generation> change(int node, boolean add) {
        CompletableFuture<Generation> result = new CompletableFuture<>();
        execute(() -> {
            if (pendingDrop != null) {
                result.completeExceptionally(new ClusterAdminException("55006", "node " + host.selfId()
                    + " is already changing the configured set (" + pendingDrop.verb() + " node " + pendingDrop.node
                    + "): wait until it is done"));
                return;
            }
            GenerationState s = host.state();
            if (s.changeVoted()) {
                result.completeExceptionally(new ClusterAdminException("55006", "node " + host.selfId() + " voted for"
                    + " configured nodes " + s.votedConfigured() + " and is still in " + s.current() + ": that change"
                    + " completes first; retry in a moment"));
                return;
            }
            PendingDrop p = new PendingDrop(node, add, nowMs() + CHANGE_TIMEOUT_MS);
            p.next(host.selfId(), s.current(), host.status()); // refusals before anything runs
            pendingDrop = p;
            pendingDrop.done.whenComplete((g, e) -> {
                if (e != null) {
                    result.completeExceptionally(e);
                } else {
                    result.complete(g);
                }
            });
            advanceDrop(s);
        }, result);
        return result;
    }

    /** Moves a pending drop on: done once adopted, else a new try when no election of this node's runs. */
    private void advanceDrop(GenerationState s) {
        PendingDrop p = pendingDrop;
        if (p == null) {
            return;
        }
        Generation gen = s.current();
        if (p.adopted(gen)) {
            pendingDrop = null;
            LOG.info("node {}: node {} {}: now in {}", host.selfId(), p.node, p.add ? "added" : "dropped", gen);
            p.done.complete(gen);
            return;
        }
        long now = nowMs();
        if (campaigner.changePending() || now < p.nextTry) {
            return;
        }
        if (!campaigner.lastLoss().isEmpty()) {
            p.lastLoss = campaigner.lastLoss();
        }
        if (now >= p.deadline) {
            pendingDrop = null;
            p.done.completeExceptionally(new ClusterAdminException("40001", "could not " + p.verb() + " node " + p.node
                + " within " + CHANGE_TIMEOUT_MS / 1000 + " s: the election of the generation " + (p.add ? "with" : "without")
                + " it was not won ("
                + p.lastLoss + "); nothing changed, retry when every remaining node is online"));
            return;
        }
        Generation next;
        try {
            next = p.next(host.selfId(), gen, host.status());
        } catch (ClusterAdminException e) {
            if (!"55000".equals(e.sqlState()) || host.status() == NodeStatus.ONLINE) {
                pendingDrop = null;
                p.done.completeExceptionally(e);
            }
            return; // not online for a moment (an election under way): try again next tick until the deadline
        }
        p.nextTry = now + CHANGE_RETRY_MS;
        LOG.info("node {}: {} node {}: electing generation members {} of {}", host.selfId(),
            p.add ? "adding" : "dropping", p.node, next.members(), next.configured());
        // a retry waits by rank, a random part and the losses in a row: two nodes retrying competing changes on the same
        // fixed beat would break each other's second phase with their first, number after number (CompetingChangesIT)
        campaigner.requestChange(next.members(), next.configured(), p.tries++ > 0);
    }

    /** A change this node voted for but did not adopt is elected again until it is (see {@link MembershipChange#completion}). */
    private void completeVotedChange(GenerationState s) {
        long now = nowMs();
        if (pendingDrop != null || campaigner.running() || campaigner.changePending() || now < nextCompletion) {
            return;
        }
        Optional<Generation> next = MembershipChange.completion(host.selfId(), s,
            host.connectivity().clique(s.current().configured()));
        if (next.isPresent()) {
            nextCompletion = now + campaigner.electionTimeoutMs();
            LOG.info("node {}: voted for configured nodes {} in generation {} but is in {}: electing it again",
                host.selfId(), s.votedConfigured(), s.votedIn(), s.current());
            campaigner.requestChange(next.get().members(), next.get().configured(), true);
        }
    }

    /** True while an election of this node's is under way (the node shows isolated meanwhile). */
    boolean electionRunning() {
        // not for a drop (mtm.drop_node): every member is still there, the node keeps committing until the switch,
        // which aborts what the new generation cannot finish (40001) like any switch
        return campaigner.running() && !campaigner.changePending();
    }

    /** A message from {@code from} on the generation channel; handled on the runner's thread. */
    void onMessage(int from, byte[] payload) {
        GenerationMessage m;
        try {
            m = GenerationMessage.decode(payload);
        } catch (IllegalArgumentException e) {
            LOG.warn("node {}: ignoring a generation message from node {}: {}", host.selfId(), from, e.getMessage());
            return;
        }
        try {
            loop.execute(() -> guarded(() -> handle(m)));
        } catch (RejectedExecutionException stopping) {
            // deactivating: the sender retries with a new election
        }
    }

    private void handle(GenerationMessage m) throws Exception {
        if (m instanceof ElectionRequest req) {
            vote(req);
        } else if (m instanceof ElectionAnswer answer) {
            counted(answer);
        } else if (m instanceof GenerationAnnounce announce) {
            adopt(announce, "announced by its winner");
        }
    }

    /** Answers another node's request; a yes vote is flushed before it is sent (a promise that survives a crash). */
    private void vote(ElectionRequest req) throws Exception {
        ElectionAnswer answer = answer(req);
        if (answer.yes() && req.changesConfigured()) {
            // give the change's own election time to finish and announce before completing it ourselves
            nextCompletion = Math.max(nextCompletion, nowMs() + campaigner.electionTimeoutMs());
        }
        campaigner.onRequest(nowMs(), req);
        host.transport().send(req.candidate(), Channels.GENERATION, answer.encode());
    }

    private ElectionAnswer answer(ElectionRequest req) throws Exception {
        GenerationState s = host.state();
        NodeSet configured = s.current().configured();
        VoteResult result = Voter.answer(host.selfId(), s, host.connectivity().clique(configured), configured, req,
            host.refereeClient() != null);
        if (result.mustPersist()) {
            host.save(result.newState(), false, false);
        }
        if (req.changesConfigured()) {
            LOG.info("node {}: answers the {}: {}", host.selfId(), req, result.answer());
        } else {
            LOG.info("node {}: {} generation {} members {} proposed by node {}{}", host.selfId(),
                result.answer().yes() ? "votes for" : "refuses", req.num(), req.members(), req.candidate(),
                result.answer().yes() ? "" : ": " + result.answer().refusal());
        }
        return result.answer();
    }

    /** An answer to this node's campaign; a win is adopted here (flushed) before it is announced to everyone. */
    private void counted(ElectionAnswer answer) throws Exception {
        Optional<GenerationAnnounce> won = campaigner.onAnswer(answer);
        if (won.isPresent()) {
            announce(won.get(), "elected by this node");
        } else if (!campaigner.running() && !campaigner.lastLoss().isEmpty() && answer.voter() != host.selfId()) {
            LOG.info("node {}: lost an election: {}", host.selfId(), campaigner.lastLoss());
        }
    }

    private void announce(GenerationAnnounce won, String how) throws Exception {
        LOG.info("node {}: won the election of {} (donors {})", host.selfId(), won.generation(), won.donors());
        NodeSet before = host.state().current().configured();
        adopt(won, how);
        byte[] encoded = won.encode();
        // a dropped node learns it from this, if it is running: the transport forgets it once the catalog changed
        for (int dropped : before.minus(won.generation().configured()).ids()) {
            host.transport().send(dropped, Channels.GENERATION, encoded);
        }
        host.transport().broadcast(Channels.GENERATION, encoded);
        advanceDrop(host.state());
    }

    /** The referee's answer to this node's request for generation {@code num} alone; on the runner's thread. */
    private void refereeAnswered(long num, RefereeClient.Held held) throws Exception {
        boolean granted = held != null && held.node() == host.selfId() && held.generation() == num;
        RefereeClient referee = host.refereeClient();
        String refusal = held == null ? "the referee could not be asked: " + (referee == null ? "no referee configured now"
            : referee.report().problem())
            : "grant was already issued to node " + held.node() + " in generation " + held.generation();
        Optional<GenerationAnnounce> won = campaigner.onReferee(num, granted, refusal);
        if (won.isPresent()) {
            LOG.info("node {}: the referee granted generation {} alone: working without its peer (no precommit round)",
                host.selfId(), num);
            announce(won.get(), "granted by the referee");
        } else if (!granted) {
            LOG.info("node {}: no referee grant for generation {}: {}; it stays isolated", host.selfId(), num, refusal);
        }
    }

    /**
     * Online in a generation of both data nodes and running no election: has the referee drop a grant below it or
     * an unused one of this node's (DESIGN §3: the grant is cleared once the returning node is back).
     */
    private void clearGrant(GenerationState s, RefereeClient referee) {
        Generation gen = s.current();
        if (clearing || campaigner.running() || !gen.members().equals(gen.configured()) || gen.members().size() != 2
            || s.lastOnlineIn() != gen.num() || !gen.isMember(host.selfId())) {
            return;
        }
        String key = gen.num() + "/" + s.lastVote();
        RefereeReport seen = referee.report();
        boolean nothingToClear = seen.reachable() && (seen.grantNode() == 0
            || (seen.grantGen() >= gen.num() && seen.grantNode() != host.selfId()));
        if (key.equals(clearedFor) && nothingToClear) {
            return;
        }
        clearing = true;
        referee.clear(gen.num(), s.lastVote(), ok -> execute(() -> {
            clearing = false;
            if (ok) {
                clearedFor = key;
            }
        }));
    }

    private void execute(Step step) {
        try {
            loop.execute(() -> guarded(step));
        } catch (RejectedExecutionException stopping) {
            // deactivating
        }
    }

    /** Runs {@code step}; its failure, or the runner stopping, fails {@code result}. */
    private void execute(Step step, CompletableFuture<?> result) {
        try {
            loop.execute(() -> {
                try {
                    step.run();
                } catch (Exception e) {
                    result.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException stopping) {
            result.completeExceptionally(new ClusterAdminException("55000", "node " + host.selfId()
                + ": the consensus bundle is stopping; retry"));
        }
    }

    private static long nowMs() {
        return System.nanoTime() / 1_000_000;
    }

    private void adopt(GenerationAnnounce announce, String how) throws Exception {
        if (MembershipChange.droppedFrom(host.selfId(), announce.generation())
            && announce.generation().num() > host.state().current().num()) {
            if (!host.disabled()) {
                String why = MembershipChange.droppedText(host.selfId(), announce.generation());
                host.disable(why);
                LOG.error("node {}: disabled: {} ({})", host.selfId(), why, how);
            }
            return;
        }
        Optional<GenerationState> next = Adoption.adopt(host.selfId(), host.state(), announce);
        if (next.isPresent()) {
            switchTo(next.get(), how);
        }
    }

    private void switchTo(GenerationState n, String how) throws Exception {
        boolean online = n.lastOnlineIn() == n.current().num() && n.current().isMember(host.selfId());
        host.save(n, online, true);
        campaigner.observe(n.current().num());
        LOG.info("node {}: now in {} (donors {}, {}): {}", host.selfId(), n.current(), n.donors(), how,
            online ? "online" : n.current().isMember(host.selfId()) ? "recovering from a donor first" : "not a member, catching up");
    }

    private void guardedTick() {
        guarded(this::tick);
    }

    private void tick() throws Exception {
        int self = host.selfId();
        GenerationState s = host.state();
        Transport t = host.transport();
        if (self == 0 || s.current().num() == 0 || t == null || !t.settled() || host.disabled()) {
            return; // a disabled node neither adopts nor campaigns: it waits to be dropped and added again
        }
        Connectivity view = host.connectivity();
        NodeSet configured = s.current().configured();
        NodeSet connected = view.connected();
        // a newer generation a connected peer is in: it was won, so adopt it (beacons carry no configured set: same)
        for (Map.Entry<Integer, PeerBeacon> e : view.beacons().entrySet()) {
            PeerBeacon b = e.getValue();
            if (connected.contains(e.getKey()) && b.generationNum() > s.current().num()) {
                Optional<GenerationAnnounce> newer = Adoption.beaconGeneration(s, b, configured, host.known());
                if (newer.isPresent()) {
                    adopt(newer.get(), "seen in node " + e.getKey() + "'s heartbeat");
                    if (host.disabled()) {
                        return;
                    }
                    s = host.state();
                    configured = s.current().configured();
                }
            }
            campaigner.observe(b.generationNum());
        }
        releaseDrainOfLostElection(s);
        advanceDrop(s);
        completeVotedChange(s);
        RecoveryProgress progress = host.recovery();
        NodeSet clique = view.clique(configured);
        NodePlan.Decision d = NodePlan.decide(self, s, false, clique, connected, view.newestGenerationWithoutSelf(configured),
            campaigner.running(), progress);
        if (d.walGone()) {
            String why = walGone(self, progress.walGone());
            host.disable(why);
            LOG.error("node {}: disabled: {}", self, why);
            return;
        }
        if (d.recovered() && host.joinSlotsPending()) {
            if (!slotsWaitLogged) {
                LOG.info("node {}: recovered, but its replication slots for its peers are not made yet (it joined"
                    + " through mtm.join_node): it goes online once they are", self);
                slotsWaitLogged = true;
            }
            return;
        }
        if (d.recovered()) {
            host.save(Adoption.recovered(s), true, true);
            LOG.info("node {}: recovered from donor {} up to its marker of generation {}: online", self, progress.donor(),
                s.current().num());
            return;
        }
        if (waitsForItsSlotsOutside(self, s, host.joinSlotsPending())) {
            if (!slotsCampaignWaitLogged) {
                LOG.info("node {}: catching up, but its replication slots for its peers are not made yet (it joined"
                    + " through mtm.join_node): it asks to be taken in once they are", self);
                slotsCampaignWaitLogged = true;
            }
            return;
        }
        RefereeClient referee = host.refereeClient();
        if (referee != null) {
            clearGrant(s, referee);
        }
        Optional<ElectionRequest> request = campaigner.tick(nowMs(), s, clique, configured,
            NodePlan.caughtUp(progress, CAUGHT_UP_BYTES), referee != null);
        if (request.isPresent()) {
            ElectionRequest req = request.get();
            if (plannedSwitch(self, s, req)) {
                drainThenPropose(req, s.current());
            } else {
                propose(req, s, clique, configured, referee);
            }
        }
    }

    /**
     * A node that joined through mtm.join_node asks to be taken in only once its own replication slots exist. They are
     * made while its catch-up is held between two transactions with nothing prepared ({@code SlotBuildHold}); once a
     * member, its recovery ends at the generation's marker and leaves the marker's unit (and any unit still buffered)
     * prepared until normal mode, which it reaches only after its slots exist: slots not made by then never would be.
     * Its catch-up of a non-member never stops, so such a moment comes (the base backup's copies finished).
     */
    static boolean waitsForItsSlotsOutside(int self, GenerationState s, boolean joinSlotsPending) {
        return joinSlotsPending && !s.current().isMember(self);
    }

    /**
     * A switch the cluster chose rather than suffered: a change of the configured set (mtm.drop_node, mtm.add_node, or
     * completing a voted one), or a caught-up node asking to be taken in. Every member is there to drain its commits
     * first; a member lost is not waited for (its transactions end anyway, and waiting would lengthen the outage).
     */
    static boolean plannedSwitch(int self, GenerationState s, ElectionRequest req) {
        // a change's first phase elects nothing (it gathers promises): the drain comes before its second
        return req.changesConfigured() && !req.isPrepare() || !s.current().isMember(self);
    }

    /**
     * Issue 15: clients of the nodes that stay see no error at a planned switch. The members hold new commits (they
     * wait, nothing fails) and report once their commits in flight ended ({@link SwitchDrain}); only then is the
     * election's request voted for here and sent, so the switch dooms no PREPARE and no member refuses a PREPARE
     * of the old generation. After {@link #DRAIN_MS} it is sent all the same.
     */
    private void drainThenPropose(ElectionRequest req, Generation current) {
        draining = req;
        long started = nowMs();
        host.drainBeforeSwitch(current, DRAIN_MS, DRAIN_HOLD_MS).whenComplete((drain, failure) -> execute(() -> {
            if (draining == req) {
                draining = null;
            }
            if (drain != null) {
                if (drainHeld != null) {
                    drainHeld.release();
                }
                drainHeld = drain;
                drainHeldIn = current.num();
            }
            if (!campaigner.campaigning(req)) {
                return; // timed out or overtaken meanwhile: the next tick releases the hold
            }
            LOG.info("node {}: commits of members {} of generation {} {} after {} ms; proposing generation {}",
                host.selfId(), current.members(), current.num(), drain != null && drain.drained() ? "drained"
                    : "not all drained (" + (failure != null ? failure : "a member late or unreachable") + ")",
                nowMs() - started, req.num());
            campaigner.sent(req, nowMs());
            GenerationState s = host.state();
            NodeSet configured = s.current().configured();
            propose(req, s, host.connectivity().clique(configured), configured, host.refereeClient());
        }));
    }

    /** The hold of a planned switch whose election is over without a newer generation here ends now. */
    private void releaseDrainOfLostElection(GenerationState s) {
        if (draining != null && !campaigner.campaigning(draining)) {
            draining = null; // its drain never answered (the hold service stopped): the election timed out
        }
        if (drainHeld != null && draining == null && !campaigner.running()) {
            if (s.current().num() <= drainHeldIn) {
                drainHeld.release(); // lost: the members' commits go on in the old generation
            } // won: each member's hold ended when it adopted the new generation (a release now could come first)
            drainHeld = null;
        }
    }

    private void propose(ElectionRequest req, GenerationState s, NodeSet clique, NodeSet configured,
                         RefereeClient referee) throws Exception {
        int self = host.selfId();
        LOG.info("node {}: {} (clique {})", self, req.changesConfigured() ? req : "proposing generation " + req.num()
            + " members " + req.members(), clique);
        // its own vote first, flushed: the number is then never proposed again by this node, even after a crash
        counted(answer(req));
        if (campaigner.asksReferee() && referee != null) {
            Generation gen = s.current();
            long full = gen.members().equals(configured) && s.lastOnlineIn() == gen.num() ? gen.num() : 0;
            LOG.info("node {}: lost its peer; asking the referee {} for generation {} alone", self,
                referee.conninfo(), req.num());
            referee.request(req.num(), full, held -> execute(() -> refereeAnswered(req.num(), held)));
        } else if (campaigner.running()) {
            // a change's first phase asks the old set (the node being dropped promises too), the rest the set elected
            for (int id : clique.intersect(req.askedNodes()).without(self).ids()) {
                host.transport().send(id, Channels.GENERATION, req.encode());
            }
        }
    }

    /** What a node whose WAL is gone at {@code donors} is told, and tells its operator. */
    static String walGone(int self, NodeSet donors) {
        return "the WAL this node needs to recover is gone at every donor that could serve it (replication slot "
            + Replication.slotName(self) + " on node(s) " + donors + " was invalidated or dropped, or its segments were"
            + " removed: max_slot_wal_keep_size exceeded?); it cannot recover by itself and will neither go online nor"
            + " accept writes. Drop it (mtm.drop_node(" + self + ") on an online node) and add it again from a copy of an"
            + " online node's data";
    }

    private interface Step {
        void run() throws Exception;
    }

    /** A failing step (PostgreSQL unreachable, say) is logged once per distinct cause and tried again next tick. */
    private void guarded(Step step) {
        try {
            step.run();
            lastProblem = null;
        } catch (Exception e) {
            String problem = String.valueOf(e.getMessage());
            if (!problem.equals(lastProblem)) {
                LOG.warn("node {}: generation protocol step failed ({}); retrying", host.selfId(), problem, e);
                lastProblem = problem;
            }
        }
    }
}
