package org.mtm.consensus.internal.resolver;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
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
 * <p>Checked after every step: no node commits a transaction another rolls back, no outcome recorded differently
 * on two nodes, an acknowledged commit is never rolled back anywhere, a refused one never committed. At the end,
 * with every fault healed: every copy finished and every node committed the same transactions.
 */
final class CommitSimulation {

    /** What a client of one transaction was told. */
    enum Answer { NONE, COMMITTED, ABORTED, UNKNOWN }

    private enum StreamEvent { PREPARE, COMMIT, ROLLBACK }

    private record Streamed(StreamEvent event, Gid gid) {
    }

    private record Message(int from, int to, Kind kind, Gid gid, ResolverMessage resolver, boolean prepared) {
    }

    private enum Kind { VOTE, ABORT, COMMIT, RESOLVER }

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

        InFlight(VoteTally tally) {
            this.tally = tally;
        }
    }

    static final long RETRY_MS = 500;
    static final long RECV_TIMEOUT_MS = 2000;
    static final long PATIENCE_MS = 10_000;
    static final long RESOLUTION_WAIT_MS = RECV_TIMEOUT_MS + 3000;
    static final long DECISION_TIMEOUT_MS = 60_000;

    private final Random random;
    private final long seed;
    private final int n;
    private final NodeSet all;
    private final Node[] nodes;
    private final boolean[][] cut;
    private final List<Message> network = new ArrayList<>();
    private final Map<Long, ArrayDeque<Streamed>> streams = new HashMap<>();
    private final Map<Gid, Answer> answers = new HashMap<>();
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
        this.tracing = tracing;
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
        heal();
        for (int i = 0; i < 2_000 && violations.isEmpty() && !quiet(); i++) {
            calmStep();
            check();
        }
        if (violations.isEmpty()) {
            checkFinal();
        }
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
        } else if (r < 80) {
            tick(random.nextInt(400) + 50);
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
                log("cut " + a + "-" + b);
                cut[a][b] = true;
                cut[b][a] = true;
            }
        } else {
            int a = randomNode();
            int b = randomNode();
            cut[a][b] = false;
            cut[b][a] = false;
            log("heal " + a + "-" + b);
        }
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
        tick(100);
    }

    private void heal() {
        log("heal all");
        for (int i = 1; i <= n; i++) {
            if (!nodes[i].up) {
                restart(i);
            }
            for (int j = 1; j <= n; j++) {
                cut[i][j] = false;
            }
        }
    }

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
        node.inFlight.put(gid, f);
        answers.put(gid, Answer.NONE);
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
        answer(gid, d.commit() ? Answer.COMMITTED : Answer.ABORTED);
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
        step(node, gid, f, prepared ? f.tally.votePrepared(from) : f.tally.voteAborted(from, "40001", "no"));
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
            if (now - f.startedAt > DECISION_TIMEOUT_MS) {
                step(node, gid, f, f.tally.giveUp("57014", "timeout"));
            }
            if (f.tally.phase() == Phase.PRECOMMIT && now - f.lastPrecommitSend >= 500) {
                f.lastPrecommitSend = now;
                for (int v : f.tally.precommitVoters().minus(f.precommitAnswered).ids()) {
                    send(node.id, v, ResolverMessage.accept(gid, Term.COORDINATOR, Proposal.PRECOMMIT));
                }
            }
            if (f.tally.phase() == Phase.IN_DOUBT && now - f.inDoubtSince > RESOLUTION_WAIT_MS) {
                node.inFlight.remove(gid); // the client gets 08007; the resolver finishes the copy
                answer(gid, Answer.UNKNOWN);
            }
        }
    }

    // ---- the applier of one node -----------------------------------------------------------------------

    private boolean deliverStream(boolean faulty) {
        List<Long> ready = new ArrayList<>();
        for (Map.Entry<Long, ArrayDeque<Streamed>> e : streams.entrySet()) {
            int from = (int) (e.getKey() / 100);
            int to = (int) (e.getKey() % 100);
            if (!e.getValue().isEmpty() && nodes[from].up && nodes[to].up && !cut[from][to]) {
                ready.add(e.getKey());
            }
        }
        if (ready.isEmpty()) {
            return false;
        }
        long key = ready.get(random.nextInt(ready.size()));
        int from = (int) (key / 100);
        Node peer = nodes[(int) (key % 100)];
        Streamed s = streams.get(key).poll();
        switch (s.event()) {
            case PREPARE -> {
                // a peer that learned the outcome first (resolver) still applies the PREPARE; its scan then finishes it
                boolean canPrepare = !faulty || random.nextInt(20) != 0;
                if (canPrepare) {
                    prepareCopy(peer, s.gid());
                }
                sendRaw(new Message(peer.id, from, Kind.VOTE, s.gid(), null, canPrepare));
            }
            case COMMIT -> {
                if (peer.copy(s.gid()) == LocalCopy.PREPARED) {
                    finishCopy(peer, s.gid(), true);
                }
            }
            case ROLLBACK -> {
                if (peer.copy(s.gid()) == LocalCopy.PREPARED) {
                    finishCopy(peer, s.gid(), false);
                }
            }
        }
        return true;
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
            switch (InDoubtRules.action(gid, node.id, node.inFlight.containsKey(gid), s.outcome(), reachable, all,
                now - node.preparedAt.get(gid), PATIENCE_MS)) {
                case FINISH -> {
                    node.proposer.forget(gid);
                    finishCopy(node, gid, s.outcome() == Outcome.COMMITTED);
                }
                case RESOLVE -> {
                    if (!node.proposer.resolving(gid)) {
                        log("node " + node.id + " resolves " + gid);
                        apply(node, node.proposer.resolve(gid, all, s.promised(), now));
                    }
                }
                case WAIT -> { }
            }
        }
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
            apply(node, node.proposer.tick(now));
            if (now / 1000 != before / 1000) {
                scan(node);
            }
        }
    }

    private void crash(int i) {
        log("crash " + i);
        Node node = nodes[i];
        node.up = false;
        node.gatewayPending.clear();
        node.inFlight.clear(); // the clients of its in-flight commits get no answer (connection lost)
        network.removeIf(m -> m.from == i || m.to == i);
    }

    private void restart(int i) {
        log("restart " + i);
        Node node = nodes[i];
        node.up = true;
        node.proposer = new Proposer(i, RETRY_MS, new Random(random.nextLong()));
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
            network.add(m);
        }
    }

    private void deliverMessage(boolean duplicate) {
        if (network.isEmpty()) {
            return;
        }
        int k = random.nextInt(network.size());
        Message m = duplicate ? network.get(k) : network.remove(k);
        Node to = nodes[m.to];
        if (!to.up || !nodes[m.from].up || cut[m.from][m.to]) {
            network.remove(m);
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

    private void answer(Gid gid, Answer a) {
        if (answers.get(gid) == Answer.NONE) {
            answers.put(gid, a);
        }
    }

    // ---- invariants ------------------------------------------------------------------------------------

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
