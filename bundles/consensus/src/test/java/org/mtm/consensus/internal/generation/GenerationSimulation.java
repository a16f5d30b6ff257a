package org.mtm.consensus.internal.generation;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.RecoveryProgress;
import org.mtm.api.ReplicationPlan;
import org.mtm.consensus.internal.Connectivity;
import org.mtm.consensus.internal.GenerationState;
import org.mtm.consensus.internal.PeerBeacon;
import org.mtm.api.RefereeGrants.Grant;
import org.mtm.referee.internal.GrantRules;

/**
 * A seeded simulation of generations on N nodes (DESIGN §3, "how the protocol code is checked"): the real pure rules
 * ({@link Voter}, {@link Campaigner}, {@link Adoption}, {@link NodePlan}, {@link Connectivity}) glued the way the
 * runtime glues them, driven through message loss, duplication and reordering, cut links (one direction or both),
 * and crashes that lose everything but durable state.
 *
 * <p>Data is modelled abstractly: each node has a durable log of transaction ids. A commit is one atomic step that
 * appends a new id to the logs of all members of a generation, allowed whenever every member is up and online in
 * that generation by its durable state (the links are not even asked: a stronger adversary than 3PC). A member in
 * recovery copies a donor's log while that donor is online in the same generation, then goes online through
 * {@link Adoption#recovered}; a non-member catching up copies its source's log any time.
 *
 * <p>Checked after every step: no two different generations with one number are ever won or adopted; a node's
 * generation number, {@code lastVote} and {@code lastOnlineIn} never decrease; every log is a prefix of the longest
 * (MtmGenerations.tla); an online node is a member of its generation; a recovery never drops a transaction the
 * recovering node has. At the end, with every fault healed: every node online in one generation of all configured.
 */
final class GenerationSimulation {

    static final long BEACON_MS = 200;
    static final long RECV_TIMEOUT_MS = 2000;
    /** Catch-up lag (here: transactions) under which a returning node asks to join. */
    static final long CATCHUP_THRESHOLD = 2;
    static final int CALM_STEPS = 1_200;

    private record Message(int from, int to, byte[] payload, boolean beacon) {
    }

    /**
     * A request to the referee's PostgreSQL or its answer (2+1 mode): {@code kind} REQUEST (node asks for generation
     * num, online in full generation full), CLEAR (node is online in full generation full), ANSWER (granted or not).
     */
    private record RefereeMessage(char kind, int node, long num, long full, boolean granted) {
    }

    /** The referee: its PostgreSQL row survives its restarts; the rules are the referee's {@link GrantRules}. */
    private final class Referee {
        boolean up = true;
        Optional<Grant> held = Optional.empty();
    }

    private final class Node {
        final int id;
        boolean up = true;
        // durable
        GenerationState state;
        List<Long> log = new ArrayList<>();
        /** It learned it was dropped (mtm.drop_node): disabled for good (disabled_because). */
        boolean dropped;
        /** When it may next try to complete a change it voted for (volatile, as in the runner). */
        long nextCompletion;
        // volatile
        Campaigner campaigner;
        final Map<Integer, PeerBeacon> beacons = new HashMap<>();
        final Map<Integer, Long> heardAt = new HashMap<>();
        RecoveryProgress progress = RecoveryProgress.NONE;
        long lastBeacon = Long.MIN_VALUE / 2;

        Node(int id, GenerationState state) {
            this.id = id;
            this.state = state;
            this.campaigner = new Campaigner(id, random.nextLong());
        }

        Connectivity view() {
            NodeSet hears = NodeSet.EMPTY;
            Map<Integer, PeerBeacon> heard = new HashMap<>();
            for (Map.Entry<Integer, Long> e : heardAt.entrySet()) {
                if (now - e.getValue() < RECV_TIMEOUT_MS) {
                    hears = hears.with(e.getKey());
                    heard.put(e.getKey(), beacons.get(e.getKey()));
                }
            }
            return new Connectivity(id, hears, heard);
        }

        /** The configured set as this node knows it (its catalog and generation; all until a drop). */
        NodeSet configured() {
            return state.current().configured();
        }

        NodeSet clique() {
            return view().clique(configured());
        }

        NodePlan.Decision decision() {
            Connectivity v = view();
            return NodePlan.decide(id, state, dropped, v.clique(configured()), v.connected(),
                v.newestGenerationWithoutSelf(configured()), campaigner.running() && !campaigner.changePending(), progress);
        }

        boolean onlineIn(long num) {
            return up && state.current().num() == num && state.lastOnlineIn() == num && state.current().isMember(id);
        }
    }

    private final long seed;
    private final Random random;
    private final int n;
    private final NodeSet all;
    private final Node[] nodes;
    /** cut[a][b]: nothing from a reaches b. */
    private final boolean[][] cut;
    private final List<Message> network = new ArrayList<>();
    /** Messages held back for a long time (a slow path, a retransmission after a long stall). */
    private final List<Message> held = new ArrayList<>();
    private final Map<Long, Generation> won = new HashMap<>();
    /** 2+1 mode: two data nodes and a referee. */
    private final boolean refereeMode;
    private final Referee referee = new Referee();
    private final List<RefereeMessage> refereeNetwork = new ArrayList<>();
    /** refereeCut[i]: node i cannot reach the referee. */
    private final boolean[] refereeCut;
    private int grants;
    private final List<String> violations = new ArrayList<>();
    private long now;
    private long nextTxn = 1;
    private int commits;
    private int generationsWon;
    final StringBuilder trace = new StringBuilder();
    private final boolean tracing;
    /** mtm.drop_node asked now and then on a random node, for a random other node. */
    private final boolean drops;
    private int dropsWon;

    GenerationSimulation(long seed, int n, boolean tracing) {
        this(seed, n, false, tracing);
    }

    /** @param refereeMode two data nodes and a referee (n must be 2) */
    GenerationSimulation(long seed, int n, boolean refereeMode, boolean tracing) {
        this(seed, n, refereeMode, false, tracing);
    }

    /** @param drops some steps ask a node to drop another (mtm.drop_node), never below 2 configured */
    GenerationSimulation(long seed, int n, boolean refereeMode, boolean drops, boolean tracing) {
        this.drops = drops;
        this.refereeMode = refereeMode;
        this.refereeCut = new boolean[n + 1];
        this.seed = seed;
        this.random = new Random(seed);
        this.n = n;
        this.all = NodeSet.range(n);
        this.tracing = tracing;
        this.nodes = new Node[n + 1];
        // init_cluster: everyone online in generation 1 of all configured.
        Generation first = new Generation(1, all, all);
        for (int i = 1; i <= n; i++) {
            nodes[i] = new Node(i, new GenerationState(first, 1, 1, all));
        }
        won.put(1L, first);
        this.cut = new boolean[n + 1][n + 1];
    }

    List<String> violations() {
        return violations;
    }

    int commits() {
        return commits;
    }

    int generationsWon() {
        return generationsWon;
    }

    int grants() {
        return grants;
    }

    int dropsWon() {
        return dropsWon;
    }

    /** Runs {@code faultySteps} random steps with faults, then heals everything and checks the cluster recovers. */
    void run(int faultySteps, int maxCrashed) {
        for (int i = 0; i < faultySteps && violations.isEmpty(); i++) {
            faultyStep(maxCrashed);
            check();
        }
        if (!violations.isEmpty()) {
            return;
        }
        heal();
        int calm = 0;
        for (; calm < CALM_STEPS && violations.isEmpty() && !settled(); calm++) {
            calmStep();
            check();
        }
        if (violations.isEmpty() && !settled()) {
            StringBuilder s = new StringBuilder("not settled after " + CALM_STEPS + " calm steps:");
            for (int i = 1; i <= n; i++) {
                Node node = nodes[i];
                s.append("\n  node ").append(i).append(' ').append(node.state).append(' ')
                    .append(node.decision()).append(" clique ").append(node.clique())
                    .append(" last loss: ").append(node.campaigner.lastLoss());
            }
            violation(s.toString());
        }
    }

    // ---- steps ---------------------------------------------------------------------------------------

    private void faultyStep(int maxCrashed) {
        if (drops && random.nextInt(40) == 0) {
            askDrop();
            return;
        }
        int r = random.nextInt(100);
        // Two nodes: a fault must outlast heartbeat_recv_timeout and an election to matter, so heal and restart less
        if (refereeMode && ((r >= 75 && r < 81) || (r >= 88 && r < 95) || r >= 97) && random.nextInt(6) != 0) {
            r = 60; // let time pass instead
        }
        if (r < 8) {
            commit(nodes[randomNode()]);
        } else if (r < 16) {
            copy(nodes[randomNode()]);
        } else if (r < 46) {
            for (int k = random.nextInt(4) + 1; k > 0; k--) {
                deliver(random.nextInt(10) == 0);
            }
        } else if (r < 49) {
            if (!network.isEmpty()) {
                log("lose " + describe(network.remove(random.nextInt(network.size()))));
            }
        } else if (r < 51) {
            if (!network.isEmpty() && (held.isEmpty() || random.nextBoolean())) {
                Message m = network.remove(random.nextInt(network.size()));
                log("hold " + describe(m));
                held.add(m);
            } else if (!held.isEmpty()) {
                Message m = held.remove(random.nextInt(held.size()));
                log("release " + describe(m));
                network.add(m); // even across a crash and restart of either end: stale messages must be harmless
            }
        } else if (r < 72) {
            advance(random.nextInt(230) + 20);
        } else if (r < 75) {
            int i = randomNode();
            if (nodes[i].up && crashed() < maxCrashed) {
                crash(i);
            }
        } else if (r < 81) {
            int i = randomNode();
            if (!nodes[i].up) {
                restart(i);
            }
        } else if (r < 88) {
            int a = randomNode();
            int b = randomNode();
            if (a != b) {
                boolean oneWay = random.nextBoolean();
                log("cut " + a + (oneWay ? "->" : "-") + b);
                cut[a][b] = true;
                if (!oneWay) {
                    cut[b][a] = true;
                }
            }
        } else if (r < 95) {
            int a = randomNode();
            int b = randomNode();
            log("heal " + a + "-" + b);
            cut[a][b] = false;
            cut[b][a] = false;
        } else if (refereeMode && r < 96) {
            refereeFault();
        } else if (r < 97) {
            int a = randomNode();
            log("isolate " + a);
            for (int b = 1; b <= n; b++) {
                if (b != a) {
                    cut[a][b] = true;
                    cut[b][a] = true;
                }
            }
        } else {
            log("heal links");
            for (boolean[] row : cut) {
                java.util.Arrays.fill(row, false);
            }
        }
    }

    /** As GenerationRunner.dropNode: the rules' refusals first, then the change election on the next tick. */
    private void askDrop() {
        Node node = nodes[randomNode()];
        int target = randomNode();
        if (!node.up || node.dropped) {
            return;
        }
        try {
            Generation next = MembershipChange.drop(node.id, node.state.current(), node.decision().status(), target);
            log("node " + node.id + " asked to drop node " + target + ": " + next.members() + " of " + next.configured());
            node.campaigner.requestChange(next.members(), next.configured());
        } catch (org.mtm.api.ClusterAdminException refused) {
            log("node " + node.id + " refuses to drop node " + target + ": " + refused.getMessage());
        }
    }

    private void refereeFault() {
        int r = random.nextInt(6);
        if (r == 0 && referee.up) {
            log("referee crashes");
            referee.up = false;
            refereeNetwork.removeIf(m -> m.kind() != 'A');
        } else if (r == 1 && !referee.up) {
            log("referee restarts with " + referee.held);
            referee.up = true;
        } else if (r == 2) {
            int a = randomNode();
            log("cut " + a + "-referee");
            refereeCut[a] = true;
        } else if (r == 3) {
            log("heal referee links");
            java.util.Arrays.fill(refereeCut, false);
        } else if (!refereeNetwork.isEmpty()) {
            log("lose " + refereeNetwork.remove(random.nextInt(refereeNetwork.size())));
        }
    }

    /** Every message in flight arrives (in random order), every node copies what it may, then time moves on. */
    private void calmStep() {
        for (int k = network.size(); k > 0 && !network.isEmpty(); k--) {
            deliver(false);
        }
        for (int k = refereeNetwork.size(); k > 0 && !refereeNetwork.isEmpty(); k--) {
            deliverReferee();
        }
        for (int i = 1; i <= n; i++) {
            copy(nodes[i]);
        }
        if (random.nextInt(10) == 0) {
            commit(nodes[randomNode()]);
        }
        advance(100);
    }

    private void heal() {
        log("heal all");
        network.addAll(held);
        held.clear();
        for (int i = 1; i <= n; i++) {
            if (!nodes[i].up) {
                restart(i);
            }
            java.util.Arrays.fill(cut[i], false);
        }
        referee.up = true;
        java.util.Arrays.fill(refereeCut, false);
    }

    /** The configured set of the newest generation won: nodes outside it were dropped (told or not). */
    private NodeSet finalConfigured() {
        return won.get(java.util.Collections.max(won.keySet())).configured();
    }

    private boolean settled() {
        NodeSet configured = finalConfigured();
        long num = nodes[configured.ids().get(0)].state.current().num();
        for (int i : configured.ids()) {
            Node node = nodes[i];
            if (node.state.current().num() != num || !node.state.current().members().equals(configured)
                || node.decision().status() != NodeStatus.ONLINE) {
                return false;
            }
        }
        return !refereeMode || referee.held.isEmpty(); // the grant is cleared once both are online again
    }

    // ---- one node ------------------------------------------------------------------------------------

    private void advance(long ms) {
        now += ms;
        for (int i = 1; i <= n; i++) {
            if (nodes[i].up) {
                tick(nodes[i]);
            }
        }
    }

    /** What the runtime does on its ~100 ms timer: heartbeat, plan, campaign. */
    private void tick(Node node) {
        Connectivity view = node.view();
        NodeSet all = node.configured();
        NodeSet clique = view.clique(all);
        if (now - node.lastBeacon >= BEACON_MS) {
            node.lastBeacon = now;
            GenerationState s = node.state;
            // As ClusterStateService does: the beacon's row is what this node hears, itself included.
            byte[] beacon = new PeerBeacon(s.current().num(), s.current().members(), s.donors(), s.lastOnlineIn(),
                view.hears().with(node.id), -1, drops ? s.current().configured() : NodeSet.EMPTY).encode();
            for (int p : all.without(node.id).ids()) {
                send(new Message(node.id, p, beacon, true));
            }
        }
        if (node.dropped) {
            return; // disabled for good: as the runner, it neither adopts nor campaigns
        }
        long excludedIn = view.newestGenerationWithoutSelf(all);
        boolean electing = node.campaigner.running() && !node.campaigner.changePending();
        NodePlan.Decision d = NodePlan.decide(node.id, node.state, false, clique, view.connected(), excludedIn,
            electing, node.progress);
        if (d.recovered()) {
            log("node " + node.id + " recovered in gen " + node.state.current().num());
            persist(node, Adoption.recovered(node.state));
            node.progress = RecoveryProgress.NONE;
            d = NodePlan.decide(node.id, node.state, false, clique, view.connected(), excludedIn,
                electing, node.progress);
        }
        followPlan(node, d.plan());
        if (!node.campaigner.running() && !node.campaigner.changePending() && now >= node.nextCompletion) {
            // as the runner: a change voted for and not adopted is elected again
            Optional<Generation> again = MembershipChange.completion(node.id, node.state, clique);
            if (again.isPresent()) {
                node.nextCompletion = now + Campaigner.ELECTION_TIMEOUT_MS;
                log("node " + node.id + " completes its voted change: " + again.get());
                node.campaigner.requestChange(again.get().members(), again.get().configured(), true);
            }
        }
        boolean caughtUp = !node.state.current().isMember(node.id) && NodePlan.caughtUp(node.progress, CATCHUP_THRESHOLD);
        if (refereeMode && onlineInFull(node) && !node.campaigner.running()) {
            // as the runtime: a node online in a full generation has the referee clear the grant below it, or one of
            // its own it never used (num: its last vote)
            sendReferee(node, new RefereeMessage('C', node.id, node.state.lastVote(), node.state.current().num(), false));
        }
        Optional<ElectionRequest> req = node.campaigner.tick(now, node.state, clique, all, caughtUp, refereeMode);
        if (req.isPresent()) {
            log("node " + node.id + " campaigns: " + req.get());
            // The runtime's contract: the candidate's own vote is persisted before the request leaves.
            VoteResult own = Voter.answer(node.id, node.state, clique, all, req.get(), refereeMode);
            persist(node, own.newState());
            onAnswer(node, own.answer());
            if (node.campaigner.asksReferee()) {
                long full = onlineInFull(node) ? node.state.current().num() : 0;
                sendReferee(node, new RefereeMessage('R', node.id, req.get().num(), full, false));
                return;
            }
            byte[] payload = req.get().encode();
            for (int p : req.get().configured().without(node.id).ids()) {
                send(new Message(node.id, p, payload, false));
            }
        }
    }

    private boolean onlineInFull(Node node) {
        Generation g = node.state.current();
        return g.members().equals(all) && node.state.lastOnlineIn() == g.num();
    }

    private void sendReferee(Node node, RefereeMessage m) {
        if (refereeCut[node.id]) {
            return;
        }
        if (m.kind() == 'C' && refereeNetwork.stream().anyMatch(o -> o.equals(m))) {
            return; // one clear in flight per generation is enough
        }
        refereeNetwork.add(m);
    }

    /** The referee's PostgreSQL decides a request or a clear; or a node receives the referee's answer. */
    private void deliverReferee() {
        RefereeMessage m = refereeNetwork.remove(random.nextInt(refereeNetwork.size()));
        if (refereeCut[m.node()]) {
            return;
        }
        if (m.kind() == 'A') {
            Node node = nodes[m.node()];
            if (!node.up) {
                return;
            }
            log("referee answers node " + m.node() + " for gen " + m.num() + ": " + (m.granted() ? "granted" : "refused"));
            won(node, node.campaigner.onReferee(m.num(), m.granted(), "held by " + referee.held));
            return;
        }
        if (!referee.up) {
            return;
        }
        if (m.kind() == 'C') {
            if (referee.held.isPresent() && GrantRules.cleared(referee.held.get(), m.full(), m.node(), m.num())) {
                Grant g = referee.held.get();
                Node holder = nodes[g.node()];
                if (holder.state.current().num() == g.generation()
                    || (holder.up && holder.campaigner.asksReferee() && holder.state.lastVote() == g.generation())) {
                    violation("referee clears " + g + " while its holder may use it: " + holder.state);
                }
                log("referee clears " + g + " (node " + m.node() + " online in full gen " + m.full() + ", last vote " + m.num() + ")");
                referee.held = Optional.empty();
            }
            return;
        }
        Optional<Grant> before = referee.held;
        Optional<Grant> after = GrantRules.decide(before, m.node(), m.num(), m.full());
        boolean granted = GrantRules.granted(after, m.node(), m.num());
        if (granted && before.isPresent() && before.get().node() != m.node()) {
            // the grant changes hands: its former holder must have moved past the generation it was granted
            Node holder = nodes[before.get().node()];
            if (holder.state.current().num() <= before.get().generation()) {
                violation("referee grants " + after.get() + " while " + before.get() + " is live: node "
                    + holder.id + " is in " + holder.state.current());
            }
        }
        if (granted && !before.equals(after)) {
            grants++;
        }
        referee.held = after;
        log("referee decides " + m + ": " + (granted ? "granted" : "refused") + ", holds " + after);
        refereeNetwork.add(new RefereeMessage('A', m.node(), m.num(), m.full(), granted));
    }

    /** The receiver follows the plan: a new donor or mode restarts its progress; a catch-up tracks its lag. */
    private void followPlan(Node node, ReplicationPlan plan) {
        if (plan.mode() != ReplicationPlan.Mode.RECOVERY) {
            node.progress = RecoveryProgress.NONE;
            return;
        }
        RecoveryProgress p = node.progress;
        boolean catchUp = plan.untilGeneration() == Long.MAX_VALUE;
        if (p.donor() != plan.donor() || (catchUp && p.reached())) {
            node.progress = new RecoveryProgress(plan.donor(), 0, false, -1);
        } else if (catchUp && p.lagBytes() >= 0) {
            Node donor = nodes[plan.donor()];
            long lag = donor.up && !cut[donor.id][node.id] ? Math.max(0, donor.log.size() - node.log.size()) : -1;
            node.progress = new RecoveryProgress(p.donor(), p.markerGeneration(), false, lag);
        }
    }

    /** The recovery or catch-up receiver of {@code node} copies its donor's log, when the plan and the donor allow. */
    private void copy(Node node) {
        if (!node.up) {
            return;
        }
        ReplicationPlan plan = node.decision().plan();
        if (plan.mode() != ReplicationPlan.Mode.RECOVERY || node.progress.donor() != plan.donor()) {
            return;
        }
        Node donor = nodes[plan.donor()];
        if (!donor.up || cut[donor.id][node.id]) {
            return;
        }
        long gen = node.state.current().num();
        boolean catchUp = plan.untilGeneration() == Long.MAX_VALUE;
        if (!catchUp && !donor.onlineIn(gen)) {
            return; // its ParallelSafe marker of this generation is not in its WAL yet
        }
        if (catchUp && isPrefix(donor.log, node.log)) {
            // A source behind this node (a member still recovering) has nothing new for it.
            node.progress = new RecoveryProgress(donor.id, 0, false, 0);
            return;
        }
        if (!isPrefix(node.log, donor.log)) {
            violation("node " + node.id + " would " + (catchUp ? "catch up" : "recover") + " from " + donor.id
                + " that lacks its transactions: " + node.log + " vs " + donor.log);
            return;
        }
        node.log = new ArrayList<>(donor.log);
        node.progress = catchUp ? new RecoveryProgress(donor.id, 0, false, 0) : new RecoveryProgress(donor.id, gen, true, 0);
        log("node " + node.id + (catchUp ? " caught up from " : " recovered the log of ") + donor.id + ": "
            + node.log.size() + " txns");
    }

    /** A transaction of {@code node}'s generation: every member gets it, or nobody does. */
    private void commit(Node node) {
        Generation gen = node.state.current();
        if (!node.onlineIn(gen.num())) {
            return;
        }
        for (int m : gen.members().ids()) {
            if (!nodes[m].onlineIn(gen.num())) {
                return;
            }
        }
        long txn = nextTxn++;
        for (int m : gen.members().ids()) {
            nodes[m].log.add(txn);
        }
        commits++;
        log("node " + node.id + " commits txn " + txn + " in gen " + gen.num() + " on " + gen.members());
    }

    // ---- messages ------------------------------------------------------------------------------------

    private void deliver(boolean duplicate) {
        if (!refereeNetwork.isEmpty() && (network.isEmpty() || random.nextInt(4) == 0)) {
            deliverReferee();
            return;
        }
        if (network.isEmpty()) {
            return;
        }
        int k = random.nextInt(network.size());
        Message m = duplicate ? network.get(k) : network.remove(k);
        Node to = nodes[m.to()];
        if (!to.up || cut[m.from()][m.to()]) {
            return;
        }
        if (!to.configured().contains(m.from())) {
            return; // its transport no longer accepts a dropped node
        }
        if (m.beacon()) {
            onBeacon(to, m.from(), PeerBeacon.decode(m.payload()));
            return;
        }
        GenerationMessage msg = GenerationMessage.decode(m.payload());
        log("deliver to " + to.id + ": " + msg);
        if (to.dropped) {
            return;
        }
        if (msg instanceof ElectionRequest req) {
            to.campaigner.onRequest(now, req);
            VoteResult v = Voter.answer(to.id, to.state, to.clique(), to.configured(), req, refereeMode);
            persist(to, v.newState());
            send(new Message(to.id, req.candidate(), v.answer().encode(), false));
        } else if (msg instanceof ElectionAnswer a) {
            onAnswer(to, a);
        } else if (msg instanceof GenerationAnnounce a) {
            learn(to, a);
        }
    }

    /** An announced or heard generation: adopted, or — one that leaves this node out — the node disables itself. */
    private void learn(Node node, GenerationAnnounce a) {
        if (MembershipChange.droppedFrom(node.id, a.generation()) && a.generation().num() > node.state.current().num()) {
            log("node " + node.id + " learns it was dropped: " + a.generation());
            node.dropped = true;
            return;
        }
        adopt(node, Adoption.adopt(node.id, node.state, a), a.generation());
    }

    private void onBeacon(Node node, int from, PeerBeacon b) {
        node.heardAt.put(from, now);
        node.beacons.put(from, b);
        node.campaigner.observe(b.generationNum());
        if (!node.dropped) {
            Adoption.beaconGeneration(node.state, b, node.configured()).ifPresent(a -> learn(node, a));
        }
    }

    private void onAnswer(Node node, ElectionAnswer a) {
        won(node, node.campaigner.onAnswer(a));
    }

    private void won(Node node, Optional<GenerationAnnounce> win) {
        if (win.isEmpty()) {
            return;
        }
        GenerationAnnounce w = win.get();
        generationsWon++;
        log("node " + node.id + " wins " + w);
        NodeSet before = node.configured();
        register(w.generation());
        if (!before.equals(w.generation().configured())) {
            dropsWon++;
        }
        adopt(node, Adoption.adopt(node.id, node.state, w), w.generation());
        byte[] payload = w.encode();
        // as the runner: the dropped node is told too, then everyone configured
        for (int p : before.without(node.id).ids()) {
            send(new Message(node.id, p, payload, false));
        }
    }

    private void adopt(Node node, Optional<GenerationState> adopted, Generation gen) {
        if (adopted.isEmpty()) {
            return;
        }
        register(gen);
        log("node " + node.id + " adopts " + adopted.get());
        persist(node, adopted.get());
    }

    private void send(Message m) {
        if (m.beacon()) {
            // Heartbeats supersede each other: keep at most two in flight per link.
            int inFlight = 0;
            int oldest = -1;
            for (int i = 0; i < network.size(); i++) {
                Message o = network.get(i);
                if (o.beacon() && o.from() == m.from() && o.to() == m.to()) {
                    inFlight++;
                    if (oldest < 0) {
                        oldest = i;
                    }
                }
            }
            if (inFlight >= 2) {
                network.remove(oldest);
            }
        }
        network.add(m);
    }

    // ---- durability and faults -----------------------------------------------------------------------

    private void persist(Node node, GenerationState next) {
        GenerationState prev = node.state;
        if (next.current().num() < prev.current().num() || next.lastVote() < prev.lastVote()
            || next.lastOnlineIn() < prev.lastOnlineIn()) {
            violation("node " + node.id + " went back from " + prev + " to " + next);
        }
        node.state = next;
    }

    private void register(Generation gen) {
        Generation before = won.putIfAbsent(gen.num(), gen);
        if (before != null && !before.equals(gen)) {
            violation("two generations numbered " + gen.num() + ": " + before + " and " + gen);
        }
        // a drop is never undone: the configured sets of won generations only shrink as their numbers grow
        for (Generation other : won.values()) {
            boolean ordered = other.num() < gen.num() ? other.configured().containsAll(gen.configured())
                : other.num() > gen.num() ? gen.configured().containsAll(other.configured()) : true;
            if (!ordered) {
                violation("configured sets out of order: " + other + " and " + gen);
            }
        }
    }

    private void crash(int i) {
        log("crash " + i);
        nodes[i].up = false;
        network.removeIf(m -> m.to() == i || m.from() == i);
    }

    private void restart(int i) {
        log("restart " + i);
        Node old = nodes[i];
        Node fresh = new Node(i, old.state);
        fresh.log = old.log;
        fresh.dropped = old.dropped;
        nodes[i] = fresh;
    }

    private int crashed() {
        int c = 0;
        for (int i = 1; i <= n; i++) {
            if (!nodes[i].up) {
                c++;
            }
        }
        return c;
    }

    // ---- invariants ----------------------------------------------------------------------------------

    private void check() {
        int alone = 0;
        String who = "";
        for (int i = 1; i <= n; i++) {
            GenerationState st = nodes[i].state;
            if (st.current().members().size() == 1 && st.current().members().contains(i)
                && st.lastOnlineIn() == st.current().num() && st.current().members().size() < st.current().configured().size()) {
                alone++;
                who += " node " + i + " in " + st.current();
            }
        }
        if (alone > 1) {
            violation("two nodes online alone at once:" + who);
        }
        List<Long> longest = List.of();
        for (int i = 1; i <= n; i++) {
            if (nodes[i].log.size() > longest.size()) {
                longest = nodes[i].log;
            }
        }
        for (int i = 1; i <= n; i++) {
            Node node = nodes[i];
            if (!isPrefix(node.log, longest)) {
                violation("node " + i + "'s log " + node.log + " is not a prefix of the most advanced " + longest);
            }
            if (node.up) {
                NodeStatus status = node.decision().status();
                if (status == NodeStatus.ONLINE && !node.state.current().isMember(i)) {
                    violation("node " + i + " online in " + node.state.current() + " without being a member");
                }
                long without = node.view().newestGenerationWithoutSelf(node.configured());
                if (status == NodeStatus.ONLINE && without > node.state.current().num()) {
                    violation("node " + i + " online in " + node.state.current() + " while a connected peer is in"
                        + " generation " + without + " without it (stale reads)");
                }
            }
        }
    }

    private static boolean isPrefix(List<Long> shorter, List<Long> longer) {
        return shorter.size() <= longer.size() && longer.subList(0, shorter.size()).equals(shorter);
    }

    private void violation(String what) {
        if (violations.isEmpty()) {
            violations.add("seed " + seed + " at t=" + now + " ms: " + what);
            log("VIOLATION " + what);
        }
    }

    private int randomNode() {
        return random.nextInt(n) + 1;
    }

    private String describe(Message m) {
        String what = m.beacon() ? "beacon" : GenerationMessage.decode(m.payload()).toString();
        return m.from() + "->" + m.to() + " " + what;
    }

    private void log(String line) {
        if (tracing) {
            trace.append('[').append(now).append("] ").append(line).append('\n');
        }
    }
}
