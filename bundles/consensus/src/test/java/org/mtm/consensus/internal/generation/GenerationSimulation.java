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
    /** GenerationRunner's: how long a pending change is tried, and the pause between two tries. */
    static final long CHANGE_TIMEOUT_MS = 15_000;
    static final long CHANGE_RETRY_MS = 300;

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
        /** Its catalog's node rows (mtm.cluster_nodes): mtm.add_node writes the new node's row before its election. */
        NodeSet known;
        /** A spare id's node exists (made from a base backup of a live node): never for an id not added yet. */
        boolean created = true;
        /** Made from a base backup, waiting for mtm.join_node: it takes no part yet (the catalog reads as no cluster). */
        boolean joinPending;
        /** The backup's source, and its generation state as copied with the backup. */
        int source;
        GenerationState copied;
        /** When it may next try to complete a change it voted for (volatile, as in the runner). */
        long nextCompletion;
        /** A change asked on this node (GenerationRunner's pending change, volatile): the node added or dropped, 0 none. */
        int pendingNode;
        boolean pendingAdd;
        long pendingDeadline;
        long pendingNextTry;
        // volatile
        Campaigner campaigner;
        final Map<Integer, PeerBeacon> beacons = new HashMap<>();
        final Map<Integer, Long> heardAt = new HashMap<>();
        RecoveryProgress progress = RecoveryProgress.NONE;
        long lastBeacon = Long.MIN_VALUE / 2;

        Node(int id, GenerationState state, NodeSet known) {
            this.id = id;
            this.state = state;
            this.known = known;
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
    /** mtm.add_node of the spare ids now and then, each followed (when it can be) by a base backup and join_node. */
    private final boolean additions;
    /** With additions: no change is asked while another is under way on any node (see {@link #changeUnderWay}). */
    private final boolean oneChangeAtATime;
    private int addsWon;
    /** Changes asked (their elections started), and steps that asked two at once on different nodes. */
    private int asked;
    private int competing;
    private int joins;
    /** Ids ever given by mtm.add_node: only those may grow a configured set. */
    private NodeSet everAdded = NodeSet.EMPTY;

    GenerationSimulation(long seed, int n, boolean tracing) {
        this(seed, n, false, tracing);
    }

    /** @param refereeMode two data nodes and a referee (n must be 2) */
    GenerationSimulation(long seed, int n, boolean refereeMode, boolean tracing) {
        this(seed, n, refereeMode, false, tracing);
    }

    /** @param drops some steps ask a node to drop another (mtm.drop_node), never below 2 configured */
    GenerationSimulation(long seed, int n, boolean refereeMode, boolean drops, boolean tracing) {
        this(seed, n, 0, refereeMode, drops, tracing);
    }

    /**
     * @param spares the last {@code spares} of the {@code n} ids are not configured at init_cluster: mtm.add_node may
     *               add them (with drops asked too when {@code drops})
     */
    GenerationSimulation(long seed, int n, int spares, boolean drops, boolean tracing) {
        this(seed, n, spares, false, drops, tracing);
    }

    private GenerationSimulation(long seed, int n, int spares, boolean refereeMode, boolean drops, boolean tracing) {
        this.drops = drops;
        this.additions = spares > 0;
        // -Dsimulation.one_change_at_a_time=true: the operator waits for one change before asking the next (before
        // change elections had two phases, competing changes could bind the voters against each other for good)
        this.oneChangeAtATime = spares > 0 && Boolean.getBoolean("simulation.one_change_at_a_time");
        this.refereeMode = refereeMode;
        this.refereeCut = new boolean[n + 1];
        this.seed = seed;
        this.random = new Random(seed);
        this.n = n;
        this.all = NodeSet.range(n - spares);
        this.tracing = tracing;
        this.nodes = new Node[n + 1];
        // init_cluster: everyone online in generation 1 of all configured; spare ids do not exist yet.
        Generation first = new Generation(1, all, all);
        for (int i = 1; i <= n; i++) {
            nodes[i] = new Node(i, new GenerationState(first, 1, 1, all), all);
            if (i > n - spares) {
                nodes[i].created = false;
                nodes[i].up = false;
            }
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

    int addsWon() {
        return addsWon;
    }

    /** Steps that asked two changes at once on two nodes. */
    int competing() {
        return competing;
    }

    /** Added nodes that were joined (mtm.join_node) after their base backup. */
    int joins() {
        return joins;
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
        if (additions && !oneChangeAtATime && random.nextInt(60) == 0) {
            askCompeting();
            return;
        }
        if (additions && random.nextInt(30) == 0) {
            int r = random.nextInt(3);
            if (r == 0) {
                askAdd();
            } else {
                int spare = randomNode();
                if (r == 1) {
                    baseBackup(spare);
                } else {
                    join(spare);
                }
            }
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
        if (!node.up || node.dropped || !node.created || changeUnderWay(node)) {
            return;
        }
        try {
            Generation next = MembershipChange.drop(node.id, node.state.current(), node.decision().status(), target);
            log("node " + node.id + " asked to drop node " + target + ": " + next.members() + " of " + next.configured());
            pend(node, target, false, next);
        } catch (org.mtm.api.ClusterAdminException refused) {
            log("node " + node.id + " refuses to drop node " + target + ": " + refused.getMessage());
        }
    }

    /**
     * Two operators at once: each asks a change (an addition or a drop) on another node, in the same step — the
     * competing changes of issue 11, which must both end decided without stopping the cluster.
     */
    private void askCompeting() {
        int before = asked;
        for (int k = 0; k < 2; k++) {
            if (random.nextBoolean()) {
                askAdd();
            } else {
                askDrop();
            }
        }
        if (asked - before == 2) {
            competing++;
        }
    }

    /**
     * As NodeAddition.addNode then GenerationRunner.addNode: the rules' refusals, the new node's catalog row written on
     * every member in one cluster transaction (here: when a commit could be), then the change election.
     */
    private void askAdd() {
        Node node = nodes[randomNode()];
        if (!node.up || node.dropped || !node.created || changeUnderWay(node)) {
            return;
        }
        try {
            int id = MembershipChange.newNodeId(node.state.current(), node.known.ids().stream()
                .mapToInt(Integer::intValue).max().orElse(0));
            if (id > n) {
                return; // no spare id left in this simulation
            }
            Generation next = MembershipChange.add(node.state.current(), node.decision().status(), id);
            Generation gen = node.state.current();
            if (!gen.members().equals(gen.configured())) {
                log("node " + node.id + " refuses to add node " + id + ": every configured node must be online");
                return;
            }
            for (int m : gen.members().ids()) {
                if (!nodes[m].onlineIn(gen.num())) {
                    log("node " + node.id + " cannot write node " + id + "'s catalog row: node " + m + " is not online");
                    return;
                }
            }
            long txn = nextTxn++;
            for (int m : gen.members().ids()) {
                nodes[m].log.add(txn);
                nodes[m].known = nodes[m].known.with(id);
            }
            everAdded = everAdded.with(id);
            log("node " + node.id + " adds node " + id + " (catalog row in txn " + txn + "): " + next.members() + " of "
                + next.configured());
            pend(node, id, true, next);
        } catch (org.mtm.api.ClusterAdminException refused) {
            log("node " + node.id + " refuses to add a node: " + refused.getMessage());
        }
    }

    /** As GenerationRunner.change: the change is pending on the node, its first election asked now. */
    private void pend(Node node, int target, boolean add, Generation next) {
        node.pendingNode = target;
        node.pendingAdd = add;
        node.pendingDeadline = now + CHANGE_TIMEOUT_MS;
        node.pendingNextTry = now + CHANGE_RETRY_MS;
        node.campaigner.requestChange(next.members(), next.configured());
        asked++;
    }

    /**
     * As GenerationRunner.advanceDrop: a pending change is done once adopted; a lost election is asked again (the
     * rules asked again first) until the deadline. A competing change won meanwhile is the new generation it starts
     * from.
     */
    private void advanceChange(Node node) {
        if (node.pendingNode == 0) {
            return;
        }
        Generation gen = node.state.current();
        if (node.pendingAdd == gen.configured().contains(node.pendingNode)) {
            log("node " + node.id + ": its " + (node.pendingAdd ? "addition" : "drop") + " of node " + node.pendingNode
                + " is done: " + gen);
            node.pendingNode = 0;
            return;
        }
        if (node.campaigner.changePending() || now < node.pendingNextTry) {
            return;
        }
        if (now >= node.pendingDeadline) {
            log("node " + node.id + " gives up its change of node " + node.pendingNode + " (40001)");
            node.pendingNode = 0;
            return;
        }
        try {
            Generation next = node.pendingAdd ? MembershipChange.add(gen, node.decision().status(), node.pendingNode)
                : MembershipChange.drop(node.id, gen, node.decision().status(), node.pendingNode);
            node.pendingNextTry = now + CHANGE_RETRY_MS;
            log("node " + node.id + " asks its change again: " + next);
            node.campaigner.requestChange(next.members(), next.configured(), true);
        } catch (org.mtm.api.ClusterAdminException e) {
            if (!"55000".equals(e.sqlState()) || node.decision().status() == NodeStatus.ONLINE) {
                log("node " + node.id + " gives up its change of node " + node.pendingNode + ": " + e.getMessage());
                node.pendingNode = 0;
            }
        }
    }

    /**
     * As GenerationRunner.change: a node that voted for a change not adopted yet, or is electing one, refuses another
     * (55006) until it is done.
     */
    private boolean changeUnderWay(Node node) {
        if (node.state.changeVoted() || node.campaigner.changePending() || node.pendingNode != 0) {
            log("node " + node.id + " refuses another change: one is under way (" + node.state.votedConfigured() + ")");
            return true;
        }
        if (oneChangeAtATime) {
            // the operator asks the next change once the last one is done or given up everywhere (README: changes of
            // the configured set one at a time; competing changes asked on two nodes at once may block each other)
            for (int i = 1; i <= n; i++) {
                Node o = nodes[i];
                if (o.created && !o.joinPending && !o.dropped && (o.state.changeVoted() || o.campaigner.changePending())) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The new node's data directory from a base backup of an online node whose generation configures it (its log and
     * catalog as they are at that moment); the node then waits for mtm.join_node, taking no part.
     */
    private void baseBackup(int id) {
        Node node = nodes[id];
        if (node.created) {
            return;
        }
        for (int i = 1; i <= n; i++) {
            Node s = nodes[i];
            if (s.up && s.created && !s.joinPending && !s.dropped && s.configured().contains(id)
                && s.decision().status() == NodeStatus.ONLINE) {
                node.created = true;
                node.joinPending = true;
                node.up = false;
                node.source = s.id;
                node.copied = s.state;
                node.log = new ArrayList<>(s.log);
                node.known = s.known;
                log("node " + id + " made from a base backup of node " + s.id + ": " + node.log.size() + " txns, "
                    + s.state);
                return;
            }
        }
    }

    /**
     * As NodeAddition.joinNode on an online node whose generation configures the waiting node without it as a member,
     * every other configured node online: the new node becomes itself (NodeAddition.becomeItself) and starts, to catch
     * up from its backup's source and be elected in. A source dropped meanwhile: the backup is made again.
     */
    private void join(int id) {
        Node node = nodes[id];
        if (!node.joinPending) {
            return;
        }
        for (int i = 1; i <= n; i++) {
            Node j = nodes[i];
            if (!j.up || !j.created || j.joinPending || j.dropped || j.decision().status() != NodeStatus.ONLINE) {
                continue;
            }
            Generation gen = j.state.current();
            if (!gen.configured().contains(id) || gen.members().contains(id)
                || !j.clique().with(j.id).containsAll(gen.configured().without(id))) {
                continue;
            }
            if (!gen.configured().contains(node.source)) {
                log("node " + id + "'s backup source " + node.source + " was dropped: a new base backup is needed");
                node.created = false;
                node.joinPending = false;
                return;
            }
            GenerationState c = node.copied;
            Generation current = gen.num() > c.current().num() ? gen : c.current();
            GenerationState itself = new GenerationState(current, Math.max(c.lastVote(), gen.num()), 0,
                NodeSet.of(node.source), current.configured());
            Node joined = new Node(id, itself, node.known);
            joined.log = node.log;
            joined.created = true;
            joined.source = node.source;
            nodes[id] = joined;
            joins++;
            log("node " + j.id + " joins node " + id + ": " + itself);
            return;
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
        if (additions) {
            // the operator finishes what mtm.add_node started: a base backup, then mtm.join_node
            for (int id : finalConfigured().ids()) {
                baseBackup(id);
                join(id);
            }
        }
        advance(100);
    }

    private void heal() {
        log("heal all");
        network.addAll(held);
        held.clear();
        for (int i = 1; i <= n; i++) {
            if (!nodes[i].up && nodes[i].created && !nodes[i].joinPending) {
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
            if (!node.up || node.state.current().num() != num || !node.state.current().members().equals(configured)
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
                view.hears().with(node.id), -1, drops || additions ? s.current().configured() : NodeSet.EMPTY).encode();
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
        advanceChange(node);
        if (node.pendingNode == 0 && !node.campaigner.running() && !node.campaigner.changePending()
            && now >= node.nextCompletion) {
            // as the runner: a change voted for and not adopted is elected again
            Optional<Generation> again = MembershipChange.completion(node.id, node.state, clique);
            if (again.isPresent()) {
                node.nextCompletion = now + node.campaigner.electionTimeoutMs();
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
            for (int p : req.get().askedNodes().without(node.id).ids()) {
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
        node.known = node.known.union(donor.known); // the catalog comes with the data
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
            Adoption.beaconGeneration(node.state, b, node.configured(), node.known).ifPresent(a -> learn(node, a));
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
        if (w.generation().configured().containsAll(before) && !before.equals(w.generation().configured())) {
            addsWon++;
        } else if (!before.equals(w.generation().configured())) {
            dropsWon++;
        }
        // a candidate may win a change it took over that drops itself: it learns it like the others (the runner too)
        learn(node, w);
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
        // only ids given by mtm.add_node grow a configured set, and a drop is never undone: a node configured in one
        // won generation and not in a later one is in none after that
        if (!all.union(everAdded).containsAll(gen.configured())) {
            violation("configured set " + gen + " has a node never added");
        }
        NodeSet seen = NodeSet.EMPTY;
        NodeSet dropped = NodeSet.EMPTY;
        for (Generation g : new java.util.TreeMap<>(won).values()) {
            if (!g.configured().intersect(dropped).isEmpty()) {
                violation("a dropped node came back: nodes " + g.configured().intersect(dropped) + " in " + g);
            }
            dropped = dropped.union(seen.minus(g.configured()));
            seen = seen.union(g.configured());
        }
    }

    private void crash(int i) {
        log("crash " + i);
        nodes[i].up = false;
        network.removeIf(m -> m.to() == i || m.from() == i);
    }

    private void restart(int i) {
        Node old = nodes[i];
        if (!old.created || old.joinPending) {
            return; // a spare id not made yet, or a node waiting for mtm.join_node, has nothing running to restart
        }
        log("restart " + i);
        Node fresh = new Node(i, old.state, old.known);
        fresh.log = old.log;
        fresh.dropped = old.dropped;
        fresh.source = old.source;
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
