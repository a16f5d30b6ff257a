package org.mtm.consensus.internal.generation;

import java.util.Optional;
import java.util.Random;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.GenerationState;

/**
 * This node's elections (DESIGN §3, "campaigner"). Pure and single-threaded: {@link #tick} every ~100 ms with the
 * node's durable state and view, {@link #onAnswer} for each answer addressed to it. Only volatile state lives here;
 * a restart starts with none.
 *
 * <p>The runtime's contract: the request {@link #tick} returns is answered by this node's own {@link Voter} first,
 * and that answer persisted and fed to {@link #onAnswer}, before the request goes to the peers — so a number this
 * node proposed is durable in its {@code lastVote} and never proposed again after a crash. A won generation is
 * adopted locally ({@link Adoption#adopt}) before its announce is sent to everyone.
 *
 * <p>Nodes with the same view would propose the same members with the same number and each refuse the other (a
 * voter votes once per number); to make that rare, a node waits before campaigning by its rank in its clique
 * (lower ids first) plus a seeded random part, and after each lost election longer.
 */
public final class Campaigner {
    /**
     * An election without a result after this long is lost — the first one; each loss by this bound in a row doubles
     * it for the next, up to {@link #MAX_TIMEOUT_DOUBLINGS} times ({@link #electionTimeoutMs}). On a healthy machine the
     * answers come in milliseconds, but durable votes on a loaded one take longer: a two-phase change (mtm.drop_node
     * on 4 nodes under load on 2 cores, CI) had its promises 0.5-1.0 s after its request, and nine elections in a row
     * lost by a fixed 1 s bound.
     */
    public static final long ELECTION_TIMEOUT_MS = 1_000;
    /** 1, 2, 4, 8 s: a bound that grows no further once the answers had 8 s each time and still did not come. */
    public static final int MAX_TIMEOUT_DOUBLINGS = 3;
    /** The same for an election the referee decides: one request to its PostgreSQL, a connect included. */
    public static final long REFEREE_TIMEOUT_MS = 6_000;
    /**
     * Least wait before campaigning for a proposal: a view just after a restart or a heal is still incomplete (a link
     * counts once both ends' heartbeats say so: two heartbeat periods).
     */
    public static final long SETTLE_MS = 500;
    /**
     * The same for an online member that lost members it had seen since this campaigner started: its view is the
     * outcome of a peer's silence for heartbeat_recv_timeout, nothing is still settling, and every millisecond here is
     * a millisecond without writes. A member never seen yet (just after init_cluster or a restart, its connection not
     * made yet) is not lost: the view is still settling (CI: node 1 proposed {1,3} 0.4 s after init_cluster). Nor is
     * one that was in the clique for less than {@link #SETTLE_MS} in a row: a view that just grew flickers while the
     * peers' heartbeats catch up (CI: node 2 proposed {2,3} 0.5 s after init_cluster, node 1 in its clique a moment).
     */
    public static final long SHRINK_SETTLE_MS = 100;
    /**
     * Wait per rank in the clique before a first campaign; lets the lowest id go first. It must exceed what the lowest
     * id needs to send its proposal — its own wait (up to {@link #SETTLE_MS} + {@link #JITTER_MS}) and its own vote made
     * durable (150-210 ms on a loaded 2-core machine) — or both propose the same number and both lose (SeedDemoIT saw
     * generations 2 and 3 lost that way after a graceful stop, with 300).
     */
    public static final long STAGGER_MS = 600;
    /** Random part of every wait. */
    public static final long JITTER_MS = 200;
    /** Added (times a random factor up to the losses in a row, at most 8) after a lost election. */
    public static final long BACKOFF_MS = 250;

    private final int self;
    private final Random random;
    private long highestSeen;
    private long now;
    private NodeSet clique = NodeSet.EMPTY;
    private Campaign campaign;
    /** The members the current wait was scheduled for; null: no campaign wanted. */
    private NodeSet wanted;
    private long notBefore;
    /** Another candidate's election is under way: let it finish before competing. */
    private long deferredUntil;
    /** The members that election proposes: a deferral holds back only a campaign for the same members. */
    private NodeSet deferredFor = NodeSet.EMPTY;
    private int lostInARow;
    /** Elections lost in a row because their answers did not come in time (reset by a win). */
    private int timeoutsInARow;
    /** The wanted members are an online member's generation less the members it lost (see {@link #SHRINK_SETTLE_MS}). */
    private boolean shrink;
    /** Every node that was in this node's clique for {@link #SETTLE_MS} in a row since this campaigner started. */
    private NodeSet everSeen = NodeSet.EMPTY;
    /** Since when each node of the current clique has been in it without a break (ms). */
    private final java.util.Map<Integer, Long> inCliqueSince = new java.util.HashMap<>();
    private String lastLoss = "";
    /** A change of the configured set asked for ({@link #requestChange}), started at the next tick; null: none. */
    private NodeSet changeMembers;
    private NodeSet changeConfigured;
    /** The number of the last change election this campaigner started; 0: none. */
    private long changeNum;
    /** A patient change waits until then (0: not scheduled yet; a requested one starts at once). */
    private long changeNotBefore;
    private boolean changePatient;
    /** The second phase of the change election under way, sent at the next {@link #tick}; null: none. */
    private ElectionRequest pendingAccept;

    public Campaigner(int self, long seed) {
        this.self = self;
        this.random = new Random(seed);
    }

    /**
     * @param caughtUp this node is not a member and its catch-up is close enough to the donor's end
     *                 ({@link NodePlan#caughtUp})
     * @return a request to send (to itself first, see the class comment)
     */
    public Optional<ElectionRequest> tick(long nowMs, GenerationState state, NodeSet clique, NodeSet configured,
                                          boolean caughtUp) {
        return tick(nowMs, state, clique, configured, caughtUp, false);
    }

    /**
     * @param referee 2+1 mode (a referee configured, two data nodes): a request for this node alone may come, which
     *                the runtime sends to the referee (after its own vote) instead of to the peers, and whose answer
     *                it passes to {@link #onReferee}
     */
    public Optional<ElectionRequest> tick(long nowMs, GenerationState state, NodeSet clique, NodeSet configured,
                                          boolean caughtUp, boolean referee) {
        now = nowMs;
        this.clique = clique;
        inCliqueSince.keySet().removeIf(id -> !clique.contains(id));
        for (int id : clique.ids()) {
            if (nowMs - inCliqueSince.computeIfAbsent(id, x -> nowMs) >= SETTLE_MS) {
                everSeen = everSeen.with(id);
            }
        }
        observe(state.current().num());
        observe(state.lastVote());
        if (campaign != null) {
            if (state.current().num() >= campaign.request.num()) {
                campaign = null; // a generation at least as new was adopted: ours or one that beat it
                pendingAccept = null;
            } else if (pendingAccept != null) {
                ElectionRequest accept = pendingAccept;
                pendingAccept = null;
                return Optional.of(accept);
            } else if (nowMs - campaign.startedAt >= timeout(campaign)) {
                long bound = timeout(campaign); // before the count below doubles it
                if (!campaign.referee) {
                    timeoutsInARow++;
                }
                lose("no result within " + bound + " ms");
            } else {
                return Optional.empty();
            }
        }
        if (changeMembers != null && (changeConfigured.equals(state.current().configured())
            || changeConfigured.minus(configured).size() + configured.minus(changeConfigured).size() != 1)) {
            // the change was adopted meanwhile (its announce came after this request), or another one was and this one
            // is no longer one step from the configured set: nothing left to elect (the runner asks its change again)
            changeMembers = null;
            changeConfigured = null;
        }
        if (changeMembers != null && changePatient && changeNotBefore == 0) {
            changeNotBefore = nowMs + patience() + (long) random.nextInt(Math.min(lostInARow, 8) + 1) * BACKOFF_MS;
        }
        if (changeMembers != null && (!changePatient || nowMs >= changeNotBefore)) {
            long num = Math.max(Math.max(state.current().num(), state.lastVote()), highestSeen) + 1;
            ElectionRequest req = ElectionRequest.prepare(self, num, changeMembers, changeConfigured, configured);
            changeMembers = null;
            changeConfigured = null;
            changeNum = num;
            campaign = new Campaign(req, nowMs, false);
            return Optional.of(req);
        }
        Optional<NodeSet> members = Campaign.proposal(self, state, clique, configured, caughtUp, referee);
        if (members.isEmpty()) {
            wanted = null;
            lostInARow = 0;
            return Optional.empty();
        }
        if (!members.get().equals(wanted)) {
            wanted = members.get();
            shrink = shrinks(state, wanted);
            notBefore = nowMs + patience();
            return Optional.empty();
        }
        if (nowMs < notBefore || (nowMs < deferredUntil && wanted.equals(deferredFor))) {
            return Optional.empty();
        }
        long num = Math.max(Math.max(state.current().num(), state.lastVote()), highestSeen) + 1;
        ElectionRequest req = new ElectionRequest(self, num, wanted, configured);
        campaign = new Campaign(req, nowMs, !wanted.isMajorityOf(configured));
        return Optional.of(req);
    }

    /**
     * Asks for an election that changes the configured set to {@code configured} with {@code members}
     * ({@code mtm.drop_node}: the rules of {@link MembershipChange}); it starts at the next {@link #tick} that finds no
     * election under way, with a number above every one seen, and is won or lost like any other. Its first phase may
     * find another change accepted at a higher number by a majority's promises: the election then proposes that one
     * (with the members of it this node sees), and this one is asked again later by its runner if still wanted.
     */
    public void requestChange(NodeSet members, NodeSet configured) {
        requestChange(members, configured, false);
    }

    /**
     * @param patient wait first as before a campaign (rank in the clique, a random part, more after losses): nodes
     *                completing the same voted change ({@link MembershipChange#completion}) would otherwise propose the
     *                same number at the same time and refuse each other for ever
     */
    public void requestChange(NodeSet members, NodeSet configured, boolean patient) {
        changeMembers = members;
        changeConfigured = configured;
        changePatient = patient;
        changeNotBefore = 0;
    }

    /** A requested change not started yet, or its election under way. */
    public boolean changePending() {
        return changeMembers != null || (campaign != null && campaign.request.num() == changeNum
            && campaign.request.changesConfigured());
    }

    /** The election under way is decided by the referee (2+1): ask it for {@code (self, num)} after the own vote. */
    public boolean asksReferee() {
        return campaign != null && campaign.referee;
    }

    /**
     * The referee's answer to this node's request for generation {@code num}; a grant for an election that is over
     * is ignored (the grant stays with this node until renewed or made obsolete).
     *
     * @return the generation to adopt and announce when the grant wins the election
     */
    public Optional<GenerationAnnounce> onReferee(long num, boolean granted, String refusal) {
        if (campaign == null || !campaign.referee || campaign.request.num() != num) {
            return Optional.empty();
        }
        return result(campaign.onReferee(granted, refusal));
    }

    /** @return the generation to adopt and announce when this answer wins the election */
    public Optional<GenerationAnnounce> onAnswer(ElectionAnswer a) {
        observe(a.voterGen());
        observe(a.voterLastVote());
        if (campaign == null) {
            return Optional.empty();
        }
        return result(campaign.onAnswer(a));
    }

    private Optional<GenerationAnnounce> result(Campaign.Result r) {
        switch (r) {
            case WON -> {
                GenerationAnnounce won = campaign.announce();
                campaign = null;
                wanted = null;
                lostInARow = 0;
                timeoutsInARow = 0;
                return Optional.of(won);
            }
            case LOST -> lose(campaign.lostBecause());
            case PROMISED -> accept();
            default -> { }
        }
        return Optional.empty();
    }

    /**
     * The first phase got its promises: the second proposes, with the same number, the change it found safe — its own,
     * or the one accepted at the highest number, with the members of it this node sees (those behind recover from the
     * donors the election picks).
     */
    private void accept() {
        ElectionRequest prepared = campaign.request;
        NodeSet safe = campaign.safeChange();
        NodeSet members = safe.equals(prepared.configured()) ? prepared.members() : clique.with(self).intersect(safe);
        if (!members.isMajorityOf(safe)) {
            lose("the change to " + safe + " accepted before must be proposed first, and the members " + members
                + " this node sees are not a majority of it");
            return;
        }
        ElectionRequest accept = ElectionRequest.accept(self, prepared.num(), members, safe,
            prepared.fromConfigured());
        campaign = new Campaign(accept, now, false);
        pendingAccept = accept;
    }

    /**
     * Another node's request reached this node (its voter answered it): do not start a competing election for the
     * same members while that one may still be won. A request for other members (a node with another view of an
     * edge partition, which this node's voter refuses) holds nothing back: waiting for it to fail would only
     * lengthen the outage.
     */
    public void onRequest(long nowMs, ElectionRequest req) {
        observe(req.num());
        if (req.candidate() != self && campaign == null) {
            deferredUntil = Math.max(deferredUntil, nowMs + electionTimeoutMs());
            deferredFor = req.members();
        }
    }

    /** The election under way is the one {@code req} asks for (not lost, timed out or replaced meanwhile). */
    public boolean campaigning(ElectionRequest req) {
        return campaign != null && campaign.request.equals(req);
    }

    /**
     * The runtime sends {@code req} only now (it first drained the members' commits, a planned switch): the election's
     * timeout counts from here, not from the {@link #tick} that made the request.
     */
    public void sent(ElectionRequest req, long nowMs) {
        if (campaigning(req)) {
            campaign = new Campaign(req, nowMs, campaign.referee);
        }
    }

    /**
     * How long this node's next election (or each phase of a change's) may wait for its answers: {@link
     * #ELECTION_TIMEOUT_MS}, doubled for each election lost by it in a row. The runtime uses it too for its waits that
     * give an election time to finish.
     */
    public long electionTimeoutMs() {
        return ELECTION_TIMEOUT_MS << Math.min(timeoutsInARow, MAX_TIMEOUT_DOUBLINGS);
    }

    private long timeout(Campaign c) {
        return c.referee ? REFEREE_TIMEOUT_MS : electionTimeoutMs();
    }

    /** An election is under way (the node shows isolated meanwhile). */
    public boolean running() {
        return campaign != null;
    }

    /** A generation number seen in a beacon or a refusal: the next election proposes a higher one. */
    public void observe(long num) {
        highestSeen = Math.max(highestSeen, num);
    }

    /** Why the last election was lost, for the log; empty before any loss. */
    public String lastLoss() {
        return lastLoss;
    }

    private void lose(String why) {
        pendingAccept = null;
        lastLoss = "gen " + campaign.request.num() + " " + campaign.request.members() + ": " + why;
        campaign = null;
        lostInARow++;
        notBefore = now + patience() + (long) random.nextInt(Math.min(lostInARow, 8)) * BACKOFF_MS;
    }

    /** Lower ids in the clique go first; the random part separates nodes of equal rank in different views. */
    private long patience() {
        int rank = clique.intersect(NodeSet.ofMask((1L << (self - 1)) - 1)).size();
        return (shrink ? SHRINK_SETTLE_MS : SETTLE_MS) + rank * STAGGER_MS + random.nextInt((int) JITTER_MS + 1);
    }

    /** An online member proposing its generation less members it saw before and no longer sees. */
    private boolean shrinks(GenerationState state, NodeSet wanted) {
        Generation gen = state.current();
        return gen.isMember(self) && state.lastOnlineIn() == gen.num()
            && gen.members().containsAll(wanted) && !gen.members().equals(wanted)
            && everSeen.containsAll(gen.members().minus(wanted));
    }
}
