package org.mtm.consensus.internal.resolver;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.mtm.api.CommitMessage;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.VoteTally;
import org.mtm.consensus.internal.VoteTally.Phase;
import org.mtm.consensus.internal.resolver.Knowledge.LocalCopy;

/**
 * A seeded simulation of the commit path and the resolver on N nodes (DESIGN §3, "how the protocol code is
 * checked"): the real pure rules ({@link VoteTally}, {@link Acceptor}, {@link Proposer}, {@link InDoubtRules}) glued
 * the way {@code CommitCoordinator}, {@code ResolverService}, the gateway and the applier glue them, driven through
 * message loss, duplication and reordering, cut links, and crashes that lose everything but durable state.
 *
 * <p>What is durable per node: its acceptor states, its copies (prepared / committed / rolled back) and the
 * replication streams (WAL: in order, never lost, delayed arbitrarily). What a crash loses: the coordinator's
 * in-flight transactions (its clients get no answer) and the resolver's rounds. Transport messages are lost with
 * either end down or the link cut, and may be dropped, duplicated or reordered anyway.
 *
 * <p>Large transactions: a peer may take up to {@link #LARGEST_APPLY_MS} to apply one (transactions prepared after it
 * are applied in parallel; its finish waits for it). While it applies, it tells the coordinator so every
 * {@link CommitMessage#APPLYING_NOTE_MS} ({@code APPLYING}), which restarts the coordinator's decision timeout; a
 * coordinator whose transaction is undecided tells the peers that prepared it, as often, that it is at work on it
 * ({@code COORDINATING}), which their resolvers' {@link CopyAges} take as a fresh start of the copy's age. Both notes
 * are messages like the others (lost, delayed, reordered, duplicated, gone with a crash); a crashed coordinator or
 * applier sends none, and an apply in progress is lost with its node or its origin's connection.
 *
 * <p>Checked after every step: no node commits a transaction another rolls back, no outcome recorded differently
 * on two nodes, no outcome changes once recorded or finished on a node, an acknowledged commit is never rolled back
 * anywhere, a refused one never committed; a note changes nothing but timers (no copy, acceptor state, decision or
 * message comes of it), and no resolver starts a round for a copy whose reachable coordinator said it was at work
 * less than the patience ago. At the end, with every fault healed: every copy finished and every node committed the
 * same transactions.
 *
 * <p>{@link #runTimely} drives the same nodes through a network that delivers every message within
 * {@link #TIMELY_MS} while its link stays up (crashes and cut links still lose messages) and checks what the notes
 * are for: a transaction that no crash or cut disturbed commits, however long its peers apply it (no decision
 * timeout, no resolver behind its coordinator's back); no resolver takes up a copy whose coordinator has been at work
 * and connected to it for the patience; once a coordinator is down, every copy of its transactions on a node that
 * reaches a majority is resolved within {@link #ORPHAN_BOUND_MS}.
 */
final class CommitSimulation {

    /** What a client of one transaction was told. */
    enum Answer { NONE, COMMITTED, ABORTED, UNKNOWN }

    private enum StreamEvent { PREPARE, COMMIT, ROLLBACK }

    private record Streamed(StreamEvent event, Gid gid) {
    }

    /** {@code deliverAt}: when a timely network delivers it (the other network ignores it). */
    private record Message(int from, int to, Kind kind, Gid gid, ResolverMessage resolver, boolean prepared, long deliverAt) {
        Message(int from, int to, Kind kind, Gid gid, ResolverMessage resolver, boolean prepared) {
            this(from, to, kind, gid, resolver, prepared, 0);
        }
    }

    /** APPLYING and COORDINATING: the notes of CommitMessage's kinds of the same names. */
    private enum Kind { VOTE, ABORT, COMMIT, RESOLVER, APPLYING, COORDINATING }

    /** A large transaction a peer is applying (the applier's memory: lost with the node or its origin's connection). */
    private static final class Applying {
        final int from;
        final long doneAt;
        long noteDue;

        Applying(int from, long doneAt, long noteDue) {
            this.from = from;
            this.doneAt = doneAt;
            this.noteDue = noteDue;
        }
    }

    private final class Node {
        final int id;
        boolean up = true;
        final Map<Gid, AcceptorState> acceptor = new HashMap<>();
        /** This node's copies; a peer's copy rolled back leaves no trace in PostgreSQL (NONE) but is kept in {@link #finished}. */
        final Map<Gid, LocalCopy> copies = new HashMap<>();
        final Map<Gid, Boolean> finished = new HashMap<>();
        final Map<Gid, Long> preparedAt = new HashMap<>();
        // volatile
        final Map<Gid, InFlight> inFlight = new HashMap<>();
        /** Decided transactions whose gateway has not run COMMIT/ROLLBACK PREPARED yet. */
        final List<Gid> gatewayPending = new ArrayList<>();
        Proposer proposer;
        /** The resolver's ages of its copies (ResolverService: lost with the node). */
        CopyAges ages = new CopyAges();
        /** When this node last heard its coordinator say it is at work on a copy (what the checks compare with). */
        final Map<Gid, Long> noteHeard = new HashMap<>();
        /** The large transactions this node's appliers are applying. */
        final Map<Gid, Applying> applying = new HashMap<>();
        long upSince;
        long downSince = -1;
        /** Since when this node has reached a majority of the voters without a break, -1 while it does not. */
        long majoritySince;

        Node(int id) {
            this.id = id;
            this.proposer = new Proposer(id, RETRY_MS, new Random(random.nextLong()));
        }

        AcceptorState state(Gid gid) {
            return acceptor.getOrDefault(gid, AcceptorState.FRESH);
        }

        LocalCopy copy(Gid gid) {
            return copies.getOrDefault(gid, LocalCopy.NONE);
        }
    }

    private static final class InFlight {
        final VoteTally tally;
        boolean precommitRequested;
        boolean resolving;
        long startedAt;
        long inDoubtSince = -1;
        NodeSet precommitAnswered = NodeSet.EMPTY;
        long lastPrecommitSend;
        /** Members that voted (PREPARED or ABORTED): an APPLYING note from one of them no longer counts. */
        NodeSet voted = NodeSet.EMPTY;
        /** The decision timeout: 60 s from the start, again from each APPLYING note and from the last vote. */
        long deadline;
        /** When the prepared peers were last told that this coordinator is at work on it. */
        long noted;

        InFlight(VoteTally tally) {
            this.tally = tally;
        }
    }

    static final long RETRY_MS = 500;
    static final long RECV_TIMEOUT_MS = 2000;
    static final long PATIENCE_MS = 10_000;
    static final long RESOLUTION_WAIT_MS = RECV_TIMEOUT_MS + 3000;
    static final long DECISION_TIMEOUT_MS = 60_000;
    static final long NOTE_MS = CommitMessage.APPLYING_NOTE_MS;
    /** The longest a peer takes to apply a large transaction. */
    static final long LARGEST_APPLY_MS = 150_000;
    /** The timely network's bound on a message's delay. */
    static final long TIMELY_MS = 1_000;
    /**
     * How soon after its coordinator went down a copy is resolved by a node that reaches a majority: the last note
     * restarted its age just before; a node that is not the preferred resolver waits three patiences; then a scan
     * and a round or two.
     */
    static final long ORPHAN_BOUND_MS = 3 * PATIENCE_MS + 15_000;

    private final Random random;
    private final long seed;
    private final int n;
    private final NodeSet all;
    private final Node[] nodes;
    private final boolean[][] cut;
    private final List<Message> network = new ArrayList<>();
    private final Map<Long, ArrayDeque<Streamed>> streams = new HashMap<>();
    private final Map<Gid, Answer> answers = new HashMap<>();
    /** How long a peer takes to apply each transaction, at most (0: at once). */
    private final Map<Gid, Long> size = new HashMap<>();
    /** Transactions in flight at their coordinator when a node crashed or a link was cut. */
    private final Set<Gid> disturbed = new HashSet<>();
    /** Transactions that waited in a peer's stream behind the finish of a large transaction still being applied. */
    private final Set<Gid> heldUp = new HashSet<>();
    private int heldUpAborted;
    /** Since when each pair of nodes has been up and linked without a break, -1 while not. */
    private final long[][] linkedSince;
    private boolean timely;
    private boolean applyingNotes = true;
    private boolean coordinatingNotes = true;
    private final Map<Integer, Long> restartAt = new HashMap<>();
    private int notesDelivered;
    private int largeCommitted;
    private final List<String> violations = new ArrayList<>();
    private long now;
    private long nextXid = 1;
    private int steps;
    final StringBuilder trace = new StringBuilder();
    private final boolean tracing;

    CommitSimulation(long seed, int n, boolean tracing) {
        this.seed = seed;
        this.random = new Random(seed);
        this.n = n;
        this.all = NodeSet.range(n);
        this.nodes = new Node[n + 1];
        for (int i = 1; i <= n; i++) {
            nodes[i] = new Node(i);
        }
        this.cut = new boolean[n + 1][n + 1];
        this.linkedSince = new long[n + 1][n + 1];
        this.tracing = tracing;
    }

    /** Without the notes (to see that the checks need them): the sim's nodes send no APPLYING or COORDINATING. */
    CommitSimulation withoutNotes(boolean applying, boolean coordinating) {
        this.applyingNotes = !applying;
        this.coordinatingNotes = !coordinating;
        return this;
    }

    int notesDelivered() {
        return notesDelivered;
    }

    /**
     * Undisturbed transactions that were aborted anyway, having waited in a peer's stream behind the {@code r} of a
     * large transaction that peer was still applying (the origin had rolled it back after a crash or cut): the
     * ParallelApplier finishes the apply first, and what waits behind it sends no APPLYING note.
     */
    int heldUpAborted() {
        return heldUpAborted;
    }

    /** Transactions that a peer took more than the decision timeout to apply, committed. */
    int largeCommitted() {
        return largeCommitted;
    }

    List<String> violations() {
        return violations;
    }

    Map<Gid, Answer> answers() {
        return answers;
    }

    /** Runs {@code faultySteps} random steps with faults, then heals everything and runs until quiet. */
    void run(int faultySteps, int maxCrashed) {
        for (int i = 0; i < faultySteps && violations.isEmpty(); i++) {
            faultyStep(maxCrashed);
            check();
        }
        healAndSettle();
    }

    private void healAndSettle() {
        heal();
        // long enough for the largest apply to start again after the heal, then the resolvers
        for (int i = 0; i < 4_000 && violations.isEmpty() && !quiet(); i++) {
            calmStep();
            if (i % 10 == 0) {
                check(); // what it finds stays found: every tenth step is enough (and ten times cheaper)
            }
        }
        check();
        if (violations.isEmpty()) {
            checkFinal();
        }
    }

    /**
     * Runs {@code durationMs} of simulated time in steps of 100 ms on a timely network (every message delivered within
     * {@link #TIMELY_MS} unless its link breaks first), with transactions begun, crashes and restarts, cut and healed
     * links, then heals everything and runs until quiet.
     */
    void runTimely(long durationMs, int maxCrashed) {
        timely = true;
        while (now < durationMs && violations.isEmpty()) {
            timelyStep(maxCrashed);
            if (steps % 10 == 0) {
                check(); // what it finds stays found: once a simulated second is enough
                checkTimely();
            }
        }
        restartAt.clear();
        healAndSettle();
    }

    // ---- steps ---------------------------------------------------------------------------------------

    private void faultyStep(int maxCrashed) {
        steps++;
        int r = random.nextInt(100);
        if (r < 10) {
            begin(randomNode());
        } else if (r < 35) {
            deliverStream(true);
        } else if (r < 60) {
            for (int k = random.nextInt(4) + 1; k > 0; k--) {
                deliverMessage(random.nextInt(10) == 0);
            }
        } else if (r < 66) {
            dropMessage();
        } else if (r < 72) {
            gatewayFinishes(nodes[randomNode()]);
        } else if (r < 78) {
            tick(random.nextInt(400) + 50);
        } else if (r < 80) {
            stretch();
        } else if (r < 84) {
            int i = randomNode();
            if (nodes[i].up && crashed() < maxCrashed) {
                crash(i);
            }
        } else if (r < 90) {
            int i = randomNode();
            if (!nodes[i].up) {
                restart(i);
            }
        } else if (r < 94) {
            int a = randomNode();
            int b = randomNode();
            if (a != b) {
                cut(a, b);
            }
        } else {
            int a = randomNode();
            int b = randomNode();
            cut[a][b] = false;
            cut[b][a] = false;
            log("heal " + a + "-" + b);
            topologyChanged();
        }
    }

    /** Time passes (5-60 s) with the faults as they are: messages and streams keep flowing, some lost or doubled. */
    private void stretch() {
        for (int k = random.nextInt(56) + 5; k > 0; k--) {
            for (int m = random.nextInt(4); m > 0; m--) {
                deliverMessage(random.nextInt(10) == 0);
            }
            if (random.nextInt(8) == 0) {
                dropMessage();
            }
            if (random.nextBoolean()) {
                deliverStream(true);
            }
            gatewayFinishes(nodes[randomNode()]);
            tick(random.nextInt(900) + 100);
        }
    }

    private void cut(int a, int b) {
        if (!cut[a][b]) {
            log("cut " + a + "-" + b);
            disturbAll();
        }
        cut[a][b] = true;
        cut[b][a] = true;
        // the replication connection is cut too: an apply in progress is rolled back, the stream restarts
        nodes[a].applying.values().removeIf(x -> x.from == b);
        nodes[b].applying.values().removeIf(x -> x.from == a);
        topologyChanged();
    }

    /** One 100 ms step of the timely network. */
    private void timelyStep(int maxCrashed) {
        steps++;
        int r = random.nextInt(1000);
        if (r < 50) {
            begin(randomNode());
        } else if (r < 51) {
            int i = randomNode();
            if (nodes[i].up && crashed() < maxCrashed) {
                crash(i);
                restartAt.put(i, now + 5_000 + random.nextInt(115_000));
            }
        } else if (r < 52) {
            int a = randomNode();
            int b = randomNode();
            if (a != b && nodes[a].up && nodes[b].up && !cut[a][b]) {
                cut(a, b);
                // healed after 1-40 s (or when the run ends)
                long heal = now + 1_000 + random.nextInt(39_000);
                cutsHealing.add(new long[] {a, b, heal});
            }
        }
        for (Map.Entry<Integer, Long> e : new ArrayList<>(restartAt.entrySet())) {
            if (now >= e.getValue()) {
                restartAt.remove(e.getKey());
                restart(e.getKey());
            }
        }
        for (java.util.Iterator<long[]> it = cutsHealing.iterator(); it.hasNext(); ) {
            long[] c = it.next();
            if (now >= c[2]) {
                it.remove();
                int a = (int) c[0];
                int b = (int) c[1];
                cut[a][b] = false;
                cut[b][a] = false;
                log("heal " + a + "-" + b);
                topologyChanged();
            }
        }
        // every message due, in any order
        List<Message> due = new ArrayList<>();
        for (Message m : network) {
            if (m.deliverAt <= now) {
                due.add(m);
            }
        }
        java.util.Collections.shuffle(due, random);
        for (Message m : due) {
            if (network.remove(m)) {
                deliver(m);
            }
        }
        // the streams flow: each takes what it can, about one event in two a step
        for (long key : new ArrayList<>(streams.keySet())) {
            while (random.nextBoolean() && deliverStream(key, false)) {
                // next event of this stream
            }
        }
        for (int i = 1; i <= n; i++) {
            if (random.nextBoolean()) {
                gatewayFinishes(nodes[i]);
            }
        }
        tick(100);
    }

    /** A healed network: every message in flight arrives (in random order) before the clock moves on. */
    private void calmStep() {
        steps++;
        for (int k = network.size(); k > 0 && !network.isEmpty(); k--) {
            deliverMessage(false);
        }
        while (deliverStream(false)) {
            // streams drain
        }
        for (int i = 1; i <= n; i++) {
            gatewayFinishes(nodes[i]);
        }
        // nothing in flight (large applies under way, or waits): a second at once, with its scan
        tick(network.isEmpty() ? 1000 : 100);
    }

    private void heal() {
        log("heal all");
        cutsHealing.clear();
        for (int i = 1; i <= n; i++) {
            if (!nodes[i].up) {
                restart(i);
            }
            for (int j = 1; j <= n; j++) {
                cut[i][j] = false;
            }
        }
        topologyChanged();
    }

    private final List<long[]> cutsHealing = new ArrayList<>();

    private boolean quiet() {
        if (!network.isEmpty()) {
            return false;
        }
        for (ArrayDeque<Streamed> s : streams.values()) {
            if (!s.isEmpty()) {
                return false;
            }
        }
        for (int i = 1; i <= n; i++) {
            if (nodes[i].copies.containsValue(LocalCopy.PREPARED) || !nodes[i].inFlight.isEmpty()) {
                return false;
            }
        }
        return true;
    }

    // ---- the gateway and coordinator of one node ---------------------------------------------------

    private void begin(int c) {
        Node node = nodes[c];
        if (!node.up || !reachable(c).with(c).containsAll(all)) {
            return; // refused: not online (every member must be connected)
        }
        Gid gid = new Gid(c, nextXid++, 1);
        log("begin " + gid);
        InFlight f = new InFlight(new VoteTally(c, all, all));
        f.startedAt = now;
        f.deadline = now + DECISION_TIMEOUT_MS;
        f.noted = now;
        node.inFlight.put(gid, f);
        answers.put(gid, Answer.NONE);
        if (random.nextInt(5) == 0) {
            size.put(gid, 1 + (long) random.nextInt((int) LARGEST_APPLY_MS));
        }
        prepareCopy(node, gid);
        for (int p : all.without(c).ids()) {
            stream(c, p).add(new Streamed(StreamEvent.PREPARE, gid));
        }
        step(node, gid, f, f.tally.localPrepared());
    }

    private void step(Node node, Gid gid, InFlight f, Phase phase) {
        if (phase == Phase.PRECOMMIT && !f.precommitRequested) {
            f.precommitRequested = true;
            f.lastPrecommitSend = now;
            for (int v : f.tally.precommitVoters().ids()) {
                send(node.id, v, ResolverMessage.accept(gid, Term.COORDINATOR, Proposal.PRECOMMIT));
            }
        } else if (phase == Phase.IN_DOUBT && !f.resolving) {
            f.resolving = true;
            f.inDoubtSince = now;
            apply(node, node.proposer.resolve(gid, f.tally.precommitVoters(), node.state(gid).promised(), now));
        } else if (phase == Phase.DECIDED && !node.gatewayPending.contains(gid)) {
            node.gatewayPending.add(gid); // the gateway finishes it in a later step (a crash may come first)
            if (f.tally.decision().orElseThrow().commit()) {
                for (int p : f.tally.participants().without(node.id).ids()) {
                    sendRaw(new Message(node.id, p, Kind.COMMIT, gid, null, false)); // the peers commit early
                }
            }
        }
    }

    /** The gateway of {@code node} runs COMMIT/ROLLBACK PREPARED of one decided transaction and answers its client. */
    private void gatewayFinishes(Node node) {
        if (node.gatewayPending.isEmpty()) {
            return;
        }
        Gid gid = node.gatewayPending.remove(random.nextInt(node.gatewayPending.size()));
        InFlight f = node.inFlight.remove(gid);
        Decision d = f.tally.decision().orElseThrow();
        if (node.copy(gid) == LocalCopy.PREPARED) {
            finishCopy(node, gid, d.commit());
        } else if (node.finished.containsKey(gid) && node.finished.get(gid) != d.commit()) {
            violation(gid + ": coordinator " + node.id + " decided " + (d.commit() ? "commit" : "abort")
                + " but its copy was finished the other way");
        }
        answer(gid, d.commit() ? Answer.COMMITTED : Answer.ABORTED, d.commit() ? "" : d.sqlState() + " " + d.message());
        if (d.commit() && size.getOrDefault(gid, 0L) > DECISION_TIMEOUT_MS) {
            largeCommitted++;
        }
        if (!d.commit()) {
            for (int p : all.without(node.id).ids()) {
                sendRaw(new Message(node.id, p, Kind.ABORT, gid, null, false));
            }
        }
    }

    private void coordinatorOnVote(Node node, int from, Gid gid, boolean prepared) {
        InFlight f = node.inFlight.get(gid);
        if (f == null) {
            return;
        }
        f.voted = f.voted.with(from);
        if (prepared) {
            Phase before = f.tally.phase();
            Phase after = f.tally.votePrepared(from);
            if (before == Phase.VOTING && after == Phase.PRECOMMIT) {
                f.deadline = now + DECISION_TIMEOUT_MS; // the precommits get a wait of their own
            }
            step(node, gid, f, after);
        } else {
            step(node, gid, f, f.tally.voteAborted(from, "40001", "no"));
        }
    }

    /** CommitCoordinator.onApplying: a member that has not voted is still applying it; the wait starts again. */
    private void coordinatorOnApplying(Node node, int from, Gid gid) {
        InFlight f = node.inFlight.get(gid);
        if (f != null && f.tally.phase() == Phase.VOTING && f.tally.participants().contains(from) && !f.voted.contains(from)) {
            f.deadline = now + DECISION_TIMEOUT_MS;
        }
    }

    /** CommitCoordinator.onMessage(COORDINATING): only the transaction's own coordinator's note reaches the resolver. */
    private void participantOnCoordinating(Node node, int from, Gid gid) {
        if (from == gid.originNode()) {
            node.ages.refresh(gid, now); // ResolverService.coordinatorAtWork
            node.noteHeard.put(gid, now);
        }
    }

    private void coordinatorOnPrecommitAnswer(Node node, int from, ResolverMessage m) {
        InFlight f = node.inFlight.get(m.gid());
        if (f == null) {
            return;
        }
        f.precommitAnswered = f.precommitAnswered.with(from);
        step(node, m.gid(), f, m.granted() ? f.tally.precommitted(from) : f.tally.precommitRefused(from, m.known()));
    }

    private void coordinatorDecided(Node node, Gid gid, Outcome o) {
        InFlight f = node.inFlight.get(gid);
        if (f != null && f.tally.phase() != Phase.VOTING) {
            step(node, gid, f, f.tally.resolved(o));
        }
    }

    private void coordinatorTick(Node node) {
        NodeSet reachable = reachable(node.id);
        for (Map.Entry<Gid, InFlight> e : new ArrayList<>(node.inFlight.entrySet())) {
            Gid gid = e.getKey();
            InFlight f = e.getValue();
            if (f.tally.phase() == Phase.DECIDED) {
                continue;
            }
            for (int member : f.tally.participants().minus(reachable).ids()) {
                step(node, gid, f, f.tally.memberLost(member, "disconnected"));
            }
            if (!node.inFlight.containsKey(gid)) {
                continue;
            }
            if (now >= f.deadline) {
                step(node, gid, f, f.tally.giveUp("57014", "no decision within the decision timeout"));
            }
            // CommitCoordinator.noteWhatIsStillUndecided
            Phase p = f.tally.phase();
            if ((p == Phase.VOTING || p == Phase.PRECOMMIT) && now - f.noted >= NOTE_MS) {
                f.noted = now;
                for (int peer : f.tally.preparedPeers().ids()) {
                    if (coordinatingNotes) {
                        sendRaw(new Message(node.id, peer, Kind.COORDINATING, gid, null, false));
                    }
                }
            }
            if (f.tally.phase() == Phase.PRECOMMIT && now - f.lastPrecommitSend >= 500) {
                f.lastPrecommitSend = now;
                for (int v : f.tally.precommitVoters().minus(f.precommitAnswered).ids()) {
                    send(node.id, v, ResolverMessage.accept(gid, Term.COORDINATOR, Proposal.PRECOMMIT));
                }
            }
            if (f.tally.phase() == Phase.IN_DOUBT && now - f.inDoubtSince > RESOLUTION_WAIT_MS) {
                node.inFlight.remove(gid); // the client gets 08007; the resolver finishes the copy
                answer(gid, Answer.UNKNOWN, "in doubt");
            }
        }
    }

    // ---- the applier of one node -----------------------------------------------------------------------

    /** One event of a random stream that can take one now; false if none can. */
    private boolean deliverStream(boolean faulty) {
        List<Long> ready = new ArrayList<>();
        for (Map.Entry<Long, ArrayDeque<Streamed>> e : streams.entrySet()) {
            if (next(e.getKey()) != null) {
                ready.add(e.getKey());
            }
        }
        if (ready.isEmpty()) {
            return false;
        }
        return deliverStream(ready.get(random.nextInt(ready.size())), faulty);
    }

    /**
     * The next event the receiving node can take from one stream, or null: streams flow with both ends up and their
     * link intact; a large transaction being applied lets the later ones by (parallel apply) until its own finish.
     */
    private Streamed next(long key) {
        int from = (int) (key / 100);
        Node peer = nodes[(int) (key % 100)];
        ArrayDeque<Streamed> q = streams.get(key);
        if (q.isEmpty() || !nodes[from].up || !peer.up || cut[from][peer.id]) {
            return null;
        }
        Streamed waiting = null;
        for (Streamed s : q) {
            if (waiting != null) {
                if (s.event() == StreamEvent.PREPARE) {
                    heldUp.add(s.gid());
                }
                continue;
            }
            Applying a = peer.applying.get(s.gid());
            if (a == null || s.event() == StreamEvent.PREPARE && now >= a.doneAt) {
                return s;
            }
            if (s.event() != StreamEvent.PREPARE) {
                // its finish waits for its apply (ParallelApplier: a K for its PREPARE; an r too, cancelling the
                // apply only while it waits for a lock), and the rest of the stream behind it
                waiting = s;
            }
        }
        return null;
    }

    private boolean deliverStream(long key, boolean faulty) {
        Streamed s = next(key);
        if (s == null) {
            return false;
        }
        int from = (int) (key / 100);
        Node peer = nodes[(int) (key % 100)];
        switch (s.event()) {
            case PREPARE -> {
                long large = size.getOrDefault(s.gid(), 0L);
                if (large > 0 && !peer.applying.containsKey(s.gid()) && !peer.finished.containsKey(s.gid())
                    && peer.copy(s.gid()) != LocalCopy.PREPARED) {
                    // a large one: the applier works on it a while (the event stays: a crash applies it again)
                    long takes = random.nextLong(large + 1);
                    peer.applying.put(s.gid(), new Applying(from, now + takes, now + NOTE_MS));
                    log("node " + peer.id + " applies " + s.gid() + " for " + takes + " ms");
                    return true;
                }
                peer.applying.remove(s.gid());
                streams.get(key).remove(s);
                // a peer that learned the outcome first (resolver) still applies the PREPARE; its scan then finishes it
                boolean canPrepare = !faulty || random.nextInt(20) != 0;
                if (canPrepare) {
                    prepareCopy(peer, s.gid());
                }
                sendRaw(new Message(peer.id, from, Kind.VOTE, s.gid(), null, canPrepare));
            }
            case COMMIT -> {
                streams.get(key).remove(s);
                if (peer.copy(s.gid()) == LocalCopy.PREPARED) {
                    finishCopy(peer, s.gid(), true);
                }
            }
            case ROLLBACK -> {
                streams.get(key).remove(s);
                if (peer.copy(s.gid()) == LocalCopy.PREPARED) {
                    finishCopy(peer, s.gid(), false);
                }
            }
        }
        return true;
    }

    /** StreamApplier.stillApplying: every NOTE_MS of an apply, a note to the transaction's coordinator. */
    private void applierTick(Node node) {
        for (Map.Entry<Gid, Applying> e : node.applying.entrySet()) {
            Applying a = e.getValue();
            if (now >= a.noteDue && now < a.doneAt) {
                a.noteDue = now + NOTE_MS;
                if (applyingNotes) {
                    sendRaw(new Message(node.id, e.getKey().originNode(), Kind.APPLYING, e.getKey(), null, false));
                }
            }
        }
    }

    private void prepareCopy(Node node, Gid gid) {
        if (node.finished.containsKey(gid) || node.copy(gid) == LocalCopy.PREPARED) {
            return; // applied already: exactly once
        }
        node.copies.put(gid, LocalCopy.PREPARED);
        node.preparedAt.put(gid, now);
    }

    private void finishCopy(Node node, Gid gid, boolean commit) {
        log("node " + node.id + " " + (commit ? "COMMIT" : "ROLLBACK") + " PREPARED " + gid);
        Boolean before = node.finished.get(gid);
        if (before != null && before != commit) {
            violation(gid + " finished again on node " + node.id + ", the other way");
        }
        node.copies.put(gid, commit ? LocalCopy.COMMITTED : gid.originNode() == node.id ? LocalCopy.ABORTED : LocalCopy.NONE);
        node.finished.put(gid, commit);
        if (gid.originNode() == node.id) {
            for (int p : all.without(node.id).ids()) {
                stream(node.id, p).add(new Streamed(commit ? StreamEvent.COMMIT : StreamEvent.ROLLBACK, gid));
            }
        }
    }

    // ---- the resolver of one node ------------------------------------------------------------------

    private void acceptorReceive(Node node, int from, ResolverMessage m) {
        Knowledge before = new Knowledge(node.state(m.gid()), node.copy(m.gid()));
        Acceptor.Answer a;
        try {
            a = Acceptor.answer(m, before);
        } catch (IllegalStateException e) {
            violation("node " + node.id + ": " + e.getMessage());
            return;
        }
        if (before.state().outcome() != null && a.next().outcome() != before.state().outcome()) {
            violation("node " + node.id + ": the outcome of " + m.gid() + " recorded as " + before.state().outcome()
                + " became " + a.next().outcome());
        }
        node.acceptor.put(m.gid(), a.next());
        if (a.reply() != null) {
            send(node.id, from, a.reply());
        }
        if (m.kind() == ResolverMessage.Kind.DECIDED) {
            coordinatorDecided(node, m.gid(), m.known());
        }
        if (a.next().decided() && node.copy(m.gid()) == LocalCopy.PREPARED && !node.inFlight.containsKey(m.gid())) {
            finishCopy(node, m.gid(), a.next().outcome() == Outcome.COMMITTED);
        }
    }

    private void resolverReceive(Node node, int from, ResolverMessage m) {
        if (tracing && m.gid().originXid() == Long.getLong("simulation.xid", -1)) {
            log("node " + node.id + " <- " + from + " " + m.kind() + " " + m.term() + (m.granted() ? " granted" : "")
                + " promise " + m.promise() + " value " + m.value() + " known " + m.known());
        }
        switch (m.kind()) {
            case PROPOSE, ACCEPT -> acceptorReceive(node, from, m);
            case DECIDED -> {
                acceptorReceive(node, from, m);
                apply(node, node.proposer.onMessage(from, m, now));
            }
            case PROMISE, ACCEPTED -> {
                if (m.kind() == ResolverMessage.Kind.ACCEPTED && m.term().equals(Term.COORDINATOR)) {
                    coordinatorOnPrecommitAnswer(node, from, m);
                } else {
                    apply(node, node.proposer.onMessage(from, m, now));
                }
            }
        }
    }

    private void apply(Node node, List<Effect> effects) {
        for (Effect e : effects) {
            if (e instanceof Effect.Send s) {
                send(node.id, s.to(), s.message());
            } else if (e instanceof Effect.Decided d) {
                log("node " + node.id + " resolver decided " + d.gid() + " " + d.outcome());
                coordinatorDecided(node, d.gid(), d.outcome());
            }
        }
    }

    private void scan(Node node) {
        NodeSet reachable = reachable(node.id);
        for (Map.Entry<Gid, LocalCopy> e : new ArrayList<>(node.copies.entrySet())) {
            if (e.getValue() != LocalCopy.PREPARED) {
                continue;
            }
            Gid gid = e.getKey();
            AcceptorState s = node.state(gid);
            long age = node.ages.age(gid, now - node.preparedAt.get(gid), now);
            switch (InDoubtRules.action(gid, node.id, node.inFlight.containsKey(gid), s.outcome(), reachable, all,
                age, PATIENCE_MS)) {
                case FINISH -> {
                    node.proposer.forget(gid);
                    finishCopy(node, gid, s.outcome() == Outcome.COMMITTED);
                }
                case RESOLVE -> {
                    if (!node.proposer.resolving(gid)) {
                        log("node " + node.id + " resolves " + gid + " (age " + age + " ms)");
                        checkNotBehindCoordinatorAtWork(node, gid, reachable);
                        apply(node, node.proposer.resolve(gid, all, s.promised(), now));
                    }
                }
                case WAIT -> { }
            }
        }
        node.ages.endScan();
    }

    // ---- time, faults, network -----------------------------------------------------------------------

    private void tick(long ms) {
        long before = now;
        now += ms;
        for (int i = 1; i <= n; i++) {
            Node node = nodes[i];
            if (!node.up) {
                continue;
            }
            coordinatorTick(node);
            applierTick(node);
            apply(node, node.proposer.tick(now));
            if (now / 1000 != before / 1000) {
                scan(node);
            }
        }
    }

    private void crash(int i) {
        log("crash " + i);
        Node node = nodes[i];
        disturbAll();
        node.up = false;
        node.downSince = now;
        node.gatewayPending.clear();
        node.inFlight.clear(); // the clients of its in-flight commits get no answer (connection lost)
        node.applying.clear(); // its appliers' work in progress
        node.noteHeard.clear();
        for (int j = 1; j <= n; j++) {
            nodes[j].applying.values().removeIf(x -> x.from == i); // the peers' receivers of its stream lost it
        }
        network.removeIf(m -> m.from == i || m.to == i);
        topologyChanged();
    }

    private void restart(int i) {
        log("restart " + i);
        Node node = nodes[i];
        node.up = true;
        node.upSince = now;
        node.downSince = -1;
        node.proposer = new Proposer(i, RETRY_MS, new Random(random.nextLong()));
        node.ages = new CopyAges();
        topologyChanged();
        // the appliers re-send PREPARED votes for copies prepared here (ReceiverSupervisor) — to live coordinators only
        for (Map.Entry<Gid, LocalCopy> e : node.copies.entrySet()) {
            if (e.getValue() == LocalCopy.PREPARED && e.getKey().originNode() != i) {
                sendRaw(new Message(i, e.getKey().originNode(), Kind.VOTE, e.getKey(), null, true));
            }
        }
    }

    private void send(int from, int to, ResolverMessage m) {
        if (from == to) {
            resolverReceive(nodes[to], from, m); // a node's own acceptor, no network
        } else {
            sendRaw(new Message(from, to, Kind.RESOLVER, m.gid(), m, false));
        }
    }

    private void sendRaw(Message m) {
        if (nodes[m.from].up && nodes[m.to].up && !cut[m.from][m.to]) {
            network.add(timely ? new Message(m.from, m.to, m.kind, m.gid, m.resolver, m.prepared,
                now + 1 + random.nextInt((int) TIMELY_MS)) : m);
        }
    }

    private void deliverMessage(boolean duplicate) {
        if (network.isEmpty()) {
            return;
        }
        int k = random.nextInt(network.size());
        Message m = duplicate ? network.get(k) : network.remove(k);
        if (!nodes[m.to].up || !nodes[m.from].up || cut[m.from][m.to]) {
            network.remove(m);
            return;
        }
        deliver(m);
    }

    private void deliver(Message m) {
        Node to = nodes[m.to];
        if (!to.up || !nodes[m.from].up || cut[m.from][m.to]) {
            return;
        }
        if (m.kind == Kind.APPLYING || m.kind == Kind.COORDINATING) {
            notesDelivered++;
            List<Object> before = observable(to);
            if (m.kind == Kind.APPLYING) {
                coordinatorOnApplying(to, m.from, m.gid);
            } else {
                participantOnCoordinating(to, m.from, m.gid);
            }
            if (!observable(to).equals(before)) {
                violation("a " + m.kind + " note on " + m.gid + " from " + m.from + " to " + m.to + " changed more than timers");
            }
            return;
        }
        switch (m.kind) {
            case VOTE -> coordinatorOnVote(to, m.from, m.gid, m.prepared);
            case ABORT -> {
                if (to.copy(m.gid) == LocalCopy.PREPARED) {
                    finishCopy(to, m.gid, false); // early rollback on the coordinator's ABORT
                }
            }
            case COMMIT -> {
                if (to.copy(m.gid) == LocalCopy.PREPARED) {
                    finishCopy(to, m.gid, true); // early commit on the coordinator's COMMIT decision
                }
            }
            case RESOLVER -> resolverReceive(to, m.from, m.resolver);
            default -> throw new IllegalStateException(m.kind.name());
        }
    }

    private void dropMessage() {
        if (!network.isEmpty()) {
            network.remove(random.nextInt(network.size()));
        }
    }

    private NodeSet reachable(int i) {
        NodeSet r = NodeSet.EMPTY;
        for (int j = 1; j <= n; j++) {
            if (j != i && nodes[i].up && nodes[j].up && !cut[i][j]) {
                r = r.with(j);
            }
        }
        return r;
    }

    private ArrayDeque<Streamed> stream(int from, int to) {
        return streams.computeIfAbsent(from * 100L + to, k -> new ArrayDeque<>());
    }

    private int randomNode() {
        return random.nextInt(n) + 1;
    }

    private int crashed() {
        int c = 0;
        for (int i = 1; i <= n; i++) {
            c += nodes[i].up ? 0 : 1;
        }
        return c;
    }

    private void answer(Gid gid, Answer a, String why) {
        if (answers.get(gid) == Answer.NONE) {
            answers.put(gid, a);
            if (timely && a == Answer.ABORTED && !disturbed.contains(gid) && heldUp.contains(gid) && why.startsWith("57014")) {
                heldUpAborted++; // known: see heldUpAborted()
            } else if (timely && a != Answer.COMMITTED && !disturbed.contains(gid)) {
                violation(gid + ": no crash or cut came while it was committed, yet its client was told " + a + " ("
                    + why + ")" + (size.containsKey(gid) ? "; its peers took up to " + size.get(gid) + " ms to apply it" : ""));
            }
        }
    }

    /** A crash or a cut: the transactions undecided at their coordinators may fail now. */
    private void disturbAll() {
        for (int i = 1; i <= n; i++) {
            for (Map.Entry<Gid, InFlight> e : nodes[i].inFlight.entrySet()) {
                if (e.getValue().tally.phase() != Phase.DECIDED) {
                    disturbed.add(e.getKey());
                }
            }
        }
    }

    /** Keeps {@link #linkedSince} and each node's {@code majoritySince} after a crash, restart, cut or heal. */
    private void topologyChanged() {
        for (int i = 1; i <= n; i++) {
            for (int j = 1; j <= n; j++) {
                boolean linked = i != j && nodes[i].up && nodes[j].up && !cut[i][j];
                if (!linked) {
                    linkedSince[i][j] = -1;
                } else if (linkedSince[i][j] < 0) {
                    linkedSince[i][j] = now;
                }
            }
            boolean majority = nodes[i].up && reachable(i).with(i).intersect(all).isMajorityOf(all);
            if (!majority) {
                nodes[i].majoritySince = -1;
            } else if (nodes[i].majoritySince < 0) {
                nodes[i].majoritySince = now;
            }
        }
    }

    // ---- invariants ------------------------------------------------------------------------------------

    /**
     * What a note must leave as it was: its receiver's copies, acceptor states, decisions and rounds, the clients'
     * answers and the messages in flight (a note handler reaches no other node but through a message).
     */
    private List<Object> observable(Node node) {
        List<Object> o = new ArrayList<>();
        {
            o.add(new HashMap<>(node.copies));
            o.add(new HashMap<>(node.finished));
            o.add(new HashMap<>(node.acceptor));
            Map<Gid, Object> decisions = new HashMap<>();
            node.inFlight.forEach((g, f) -> decisions.put(g, List.of(f.tally.phase(), f.tally.decision())));
            o.add(decisions);
            o.add(new ArrayList<>(node.gatewayPending));
            o.add(node.proposer.size());
        }
        o.add(network.size());
        o.add(new HashMap<>(answers));
        return o;
    }

    /**
     * {@code node}'s resolver starts a round for its copy of {@code gid}: never while the copy's coordinator, reachable,
     * said it was at work on it less than the patience ago; on the timely network, never while the coordinator has
     * been at work on it and connected to this node for the whole patience (its notes cannot all have been late).
     */
    private void checkNotBehindCoordinatorAtWork(Node node, Gid gid, NodeSet reachable) {
        int c = gid.originNode();
        if (c == node.id || !reachable.contains(c)) {
            return;
        }
        Long heard = node.noteHeard.get(gid);
        if (heard != null && now - heard < PATIENCE_MS) {
            violation("node " + node.id + " resolves " + gid + " " + (now - heard) + " ms after coordinator " + c
                + " said it is at work on it");
        }
        InFlight f = nodes[c].inFlight.get(gid);
        if (timely && f != null && (f.tally.phase() == Phase.VOTING || f.tally.phase() == Phase.PRECOMMIT)
            && linkedSince[node.id][c] >= 0 && now - linkedSince[node.id][c] >= PATIENCE_MS) {
            violation("node " + node.id + " resolves " + gid + " behind its coordinator, at work on it ("
                + f.tally.phase() + ") and connected to node " + node.id + " for " + (now - linkedSince[node.id][c]) + " ms");
        }
    }

    /** Timely network: a copy whose coordinator is down is resolved by a node that reaches a majority, in time. */
    private void checkTimely() {
        for (int i = 1; i <= n; i++) {
            Node node = nodes[i];
            if (!node.up || node.majoritySince < 0) {
                continue;
            }
            for (Map.Entry<Gid, LocalCopy> e : node.copies.entrySet()) {
                int c = e.getKey().originNode();
                if (e.getValue() != LocalCopy.PREPARED || c == i || nodes[c].up) {
                    continue;
                }
                long since = Math.max(nodes[c].downSince, Math.max(node.upSince, node.majoritySince));
                if (now - since > ORPHAN_BOUND_MS) {
                    violation("node " + i + " still holds " + e.getKey() + " prepared " + (now - since)
                        + " ms after its coordinator went down (a majority reachable all along); " + node.state(e.getKey()));
                }
            }
        }
    }

    private void check() {
        Map<Gid, Boolean> finishedAs = new HashMap<>();
        Map<Gid, Outcome> recordedAs = new HashMap<>();
        for (int i = 1; i <= n; i++) {
            for (Map.Entry<Gid, Boolean> e : nodes[i].finished.entrySet()) {
                Boolean other = finishedAs.putIfAbsent(e.getKey(), e.getValue());
                if (other != null && !other.equals(e.getValue())) {
                    violation(e.getKey() + " committed on one node and rolled back on another");
                }
            }
            for (Map.Entry<Gid, AcceptorState> e : nodes[i].acceptor.entrySet()) {
                Outcome o = e.getValue().outcome();
                if (o != null) {
                    Outcome other = recordedAs.putIfAbsent(e.getKey(), o);
                    if (other != null && other != o) {
                        violation(e.getKey() + " recorded as " + other + " and " + o);
                    }
                }
            }
        }
        for (Map.Entry<Gid, Answer> e : answers.entrySet()) {
            Boolean f = finishedAs.get(e.getKey());
            if (e.getValue() == Answer.COMMITTED && Boolean.FALSE.equals(f)) {
                violation(e.getKey() + " acknowledged to its client but rolled back");
            }
            if (e.getValue() == Answer.ABORTED && Boolean.TRUE.equals(f)) {
                violation(e.getKey() + " refused to its client but committed");
            }
        }
    }

    private void checkFinal() {
        if (!quiet()) {
            List<String> left = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
                for (Map.Entry<Gid, LocalCopy> e : nodes[i].copies.entrySet()) {
                    if (e.getValue() == LocalCopy.PREPARED) {
                        left.add(e.getKey() + "@" + i + " " + nodes[i].state(e.getKey()));
                    }
                }
            }
            violation("not finished after healing: still prepared " + left + ", in flight on "
                + java.util.Arrays.stream(nodes, 1, n + 1).filter(x -> !x.inFlight.isEmpty()).map(x -> x.id).toList());
            return;
        }
        Set<Gid> committed1 = committed(1);
        for (int i = 2; i <= n; i++) {
            if (!committed(i).equals(committed1)) {
                Set<Gid> diff = new HashSet<>(committed1);
                diff.removeAll(committed(i));
                violation("node 1 and node " + i + " committed different transactions: only on 1: " + diff);
            }
        }
    }

    private Set<Gid> committed(int i) {
        Set<Gid> s = new HashSet<>();
        nodes[i].finished.forEach((g, c) -> {
            if (c) {
                s.add(g);
            }
        });
        return s;
    }

    private void violation(String what) {
        violations.add("seed " + seed + ", step " + steps + ", t=" + now + " ms: " + what);
    }

    private void log(String s) {
        if (tracing) {
            trace.append(steps).append(" t=").append(now).append(": ").append(s).append('\n');
        }
    }
}
