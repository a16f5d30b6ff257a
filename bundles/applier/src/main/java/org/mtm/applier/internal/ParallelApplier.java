package org.mtm.applier.internal;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.mtm.api.Gid;
import org.mtm.api.ReplicatedDdl;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Commit;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Delete;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Insert;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Truncate;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Update;
import org.mtm.applier.internal.pgoutput.RelationCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one peer's stream with up to {@code maxWorkers} parallel workers (DESIGN: transactions of one
 * origin that were prepared concurrently cannot conflict — each held its locks at PREPARE — so they may be
 * applied at once; one stuck on a lock does not hold up the others).
 *
 * <p>The receiver thread dispatches; each worker has its own {@link ApplySession} under its own
 * replication origin {@code mtm_node_<peer>_<k>} (PostgreSQL 15 allows one session per origin) and its
 * own {@link StreamApplier}, to which the dispatcher forwards one {@code b}…{@code P} at a time, with the
 * relation messages the worker has not seen yet. Workers are opened on demand, so a quiet stream uses one.
 *
 * <p>Ordering: everything else runs on the dispatcher's own session, in stream order —
 * <ul>
 * <li>a {@code K} waits only for its own transaction's PREPARE if that is still running, and is finished
 *     before the next message is dispatched, so no later change overtakes it;</li>
 * <li>an {@code r} does not wait for its transaction's apply to run into its lock bound: the transaction
 *     was rolled back on its origin, so an apply still waiting for a lock is cancelled and dropped without a
 *     vote. Otherwise the stream would wait for a conflict that only the stream itself can end — the lock
 *     may be held by a transaction whose own finish comes later in this stream. An apply that runs stops after
 *     its statement and skips the rest of its changes — already at the coordinator's ABORT decision
 *     ({@link #abortDecided}), as the stream reads the {@code r} only once the whole transaction was handed over;</li>
 * <li>a {@code K}/{@code r} of a transaction that this stream skipped, or of another origin's gid, is
 *     skipped ({@link ForeignFinishes}): the origin's own stream finishes it;</li>
 * <li>a plain transaction ({@code B}…{@code C}) and a user's two-phase transaction (not an {@code MTM-}
 *     gid) wait for every earlier unit: they are not known to be conflict-free with concurrent
 *     ones, and a user gid is not unique enough to deduplicate by. A plain transaction waits only from its
 *     first change that is applied here: the peer writes its node-local state ({@code mtm.*}: precommit
 *     records, live status) in plain transactions all the time, and those must not stall the stream;</li>
 * <li>a transaction with an {@code O} message is skipped, as in serial apply.</li>
 * </ul>
 *
 * <p>Exactly once: units finish out of order, so each records as origin progress only the
 * {@link Progress} watermark (every unit up to it finished), and the receiver restarts from the highest
 * progress of its origins. Units after it that had finished are recognised when streamed again: a
 * PREPARE by {@code pg_prepared_xacts} (still prepared) or by {@code mtm.applied_xacts} (committed;
 * rows written in the applied transaction itself), a K/r by finding nothing to finish.
 */
final class ParallelApplier implements MessageApplier {
    private static final Logger LOG = LoggerFactory.getLogger(ParallelApplier.class);
    private static final int QUEUE = 1024;
    private static final long CHECK_MS = 100;

    /** Opens the session of worker k (1..). */
    interface Sessions {
        ApplySession open(int worker) throws SQLException;
    }

    /**
     * Where the messages of the current transaction go: PENDING a two-phase one before its first change
     * (an O may follow), PLAIN_PENDING a plain one before a change that is applied here.
     */
    private enum Route { NONE, PENDING, PLAIN_PENDING, WORKER, MAIN, SKIP }

    /** A dispatched two-phase transaction: the end LSN of its PREPARE (its unit) and the worker applying it. */
    private record Dispatched(long end, Worker worker) {
    }

    private final int self;
    private final int peer;
    private final int maxWorkers;
    private final Sessions sessions;
    private final VoteSender votes;
    private final BooleanSupplier stopping;
    private final LongSupplier currentGeneration;
    private final PrepareGate gate;
    private final Progress progress;
    private final Runnable onWorkerFailure;
    private final ApplySession mainSession;
    private final StreamApplier main;
    private final Map<Integer, Relation> sentToMain = new HashMap<>();
    private final RelationCache relations = new RelationCache();
    private final List<Worker> workers = new ArrayList<>();
    private final BlockingQueue<Worker> idle = new LinkedBlockingQueue<>();
    /** Dispatched two-phase transactions by gid, until their K/r. */
    private final Map<String, Dispatched> dispatched = new HashMap<>();
    private final ForeignFinishes foreign;
    /** Gids whose coordinator decided abort, until their r: shared with every worker's {@link StreamApplier}. */
    private final java.util.Set<String> abortsDecided = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private volatile boolean closed;
    private Route route = Route.NONE;
    private BeginPrepare pendingBegin;
    private PgOutputMessage pendingPlainBegin;
    private Worker current;
    private long confirmed;

    /**
     * @param main  the receiver's own session (origin {@code mtm_node_<peer>}), used for K, r, plain and
     *              user two-phase transactions
     * @param start the durable progress the stream starts from
     * @param onWorkerFailure run when a worker fails, to wake the receiver thread (it may be waiting for the stream)
     */
    ParallelApplier(int self, int peer, int maxWorkers, ApplySession main, Sessions sessions, VoteSender votes,
                    BooleanSupplier stopping, LongSupplier currentGeneration, long start, Runnable onWorkerFailure) {
        this(self, peer, maxWorkers, main, sessions, votes, stopping, currentGeneration, start, onWorkerFailure, PrepareGate.OPEN);
    }

    /** @param gate admits each worker's PREPARE for its generation (see {@link StreamApplier}) */
    ParallelApplier(int self, int peer, int maxWorkers, ApplySession main, Sessions sessions, VoteSender votes,
                    BooleanSupplier stopping, LongSupplier currentGeneration, long start, Runnable onWorkerFailure,
                    PrepareGate gate) {
        this.gate = gate;
        this.onWorkerFailure = onWorkerFailure;
        this.self = self;
        this.peer = peer;
        this.maxWorkers = maxWorkers;
        this.sessions = sessions;
        this.votes = votes;
        this.stopping = stopping;
        this.currentGeneration = currentGeneration;
        this.progress = new Progress(start);
        this.mainSession = main;
        this.foreign = new ForeignFinishes(peer);
        this.main = new StreamApplier(self, peer, main, votes, this::stopped, currentGeneration, progress::recordable, foreign, gate);
        this.main.shareAbortsDecided(abortsDecided);
        this.confirmed = start;
    }

    @Override
    public void earlyFinishes(EarlyFinishes finishes) {
        main.earlyFinishes(finishes); // K runs on the main session
    }

    @Override
    public void handle(PgOutputMessage m) throws Exception {
        progress.checkFailure();
        switch (m.type()) {
            case 'R', 'Y' -> relations.accept(m);
            case 'b' -> beginPrepare((BeginPrepare) m);
            case 'B' -> {
                expectRoute(Route.NONE, m);
                pendingPlainBegin = m; // waits for earlier units only once something must be applied
                route = Route.PLAIN_PENDING;
            }
            case 'O' -> {
                if (route == Route.PENDING || route == Route.PLAIN_PENDING) {
                    route = Route.SKIP;
                    pendingPlainBegin = null;
                } else if (route == Route.MAIN) {
                    main.handle(m);
                } else {
                    throw new IllegalStateException("node " + self + ": origin message " + m + " from node " + peer
                            + " outside a transaction's start");
                }
            }
            case 'I', 'U', 'D', 'T', 'M' -> change(m);
            case 'P' -> prepare((Prepare) m);
            case 'C' -> {
                long end = ((Commit) m).endLsn();
                progress.register(end);
                if (route == Route.PLAIN_PENDING || route == Route.SKIP) {
                    pendingPlainBegin = null; // nothing of it is applied here
                } else {
                    expectRoute(Route.MAIN, m);
                    main.handle(m);
                }
                progress.done(end);
                route = Route.NONE;
            }
            case 'K' -> finishPrepared(m, ((CommitPrepared) m).gid(), ((CommitPrepared) m).endLsn());
            case 'r' -> finishPrepared(m, ((RollbackPrepared) m).gid(), ((RollbackPrepared) m).rollbackEndLsn());
            default -> main.handle(m);
        }
    }

    private void beginPrepare(BeginPrepare b) throws Exception {
        expectRoute(Route.NONE, b);
        if (Gid.tryParse(b.gid()) == null) { // a user's own 2PC: applied alone, like a plain transaction
            progress.awaitAll();
            progress.register(b.endLsn());
            route = Route.MAIN;
            main.handle(b);
            return;
        }
        pendingBegin = b; // wait for the next message: an O means the transaction is skipped
        route = Route.PENDING;
    }

    private void change(PgOutputMessage m) throws Exception {
        if (route == Route.PENDING) {
            dispatch();
        } else if (route == Route.PLAIN_PENDING) {
            if (!appliedHere(m)) {
                return;
            }
            progress.awaitAll();
            route = Route.MAIN;
            main.handle(pendingPlainBegin);
            pendingPlainBegin = null;
        }
        switch (route) {
            case WORKER -> {
                relationsFor(m, current.sent, current::send);
                current.send(m);
            }
            case MAIN -> {
                relationsFor(m, sentToMain, main::handle);
                main.handle(m);
            }
            case SKIP -> {
                // applied on the peer from another node, which streams it to us itself
            }
            default -> {
                if (m instanceof PgOutputMessage.LogicalMessage lm && !lm.transactional()) {
                    main.handle(m);
                } else {
                    throw new IllegalStateException("node " + self + ": stream of node " + peer + " sent " + m
                            + " outside a transaction");
                }
            }
        }
    }

    private void prepare(Prepare p) throws Exception {
        switch (route) {
            case PENDING -> {
                dispatch(); // an empty transaction still prepares and votes
                current.send(p);
            }
            case WORKER -> current.send(p);
            case SKIP -> {
                foreign.skippedPrepare(p.xid()); // its K/r in this stream is not ours to run either
                progress.register(p.endLsn());
                progress.done(p.endLsn());
            }
            case MAIN -> {
                main.handle(p);
                progress.done(p.endLsn());
            }
            default -> throw new IllegalStateException("node " + self + ": PREPARE " + p.gid() + " from node " + peer
                    + " outside a transaction");
        }
        route = Route.NONE;
        current = null;
        pendingBegin = null;
    }

    private void finishPrepared(PgOutputMessage m, String gid, long end) throws Exception {
        expectRoute(Route.NONE, m);
        Dispatched d = dispatched.remove(gid);
        if (d != null) {
            if (m.type() == 'r') {
                abortsDecided.add(gid); // for a worker that has not begun it yet; main.handle(m) forgets it
                abandon(gid, d);
            } else {
                progress.awaitUnit(d.end()); // in normal mode a K comes only after this node voted PREPARED
            }
        }
        progress.register(end);
        main.handle(m);
        progress.done(end);
    }

    /**
     * Waits for the apply of {@code gid}, which its origin rolled back: marked abandoned, the worker stops it after
     * the statement that runs and skips the rest of its changes (no PREPARE, no vote); one that waits for a lock is
     * cancelled, as that wait may be for a transaction whose finish comes later in this very stream.
     */
    private void abandon(String gid, Dispatched d) throws Exception {
        while (!progress.awaitUnit(d.end(), 0)) {
            if (d.worker().session.abandon(gid)) {
                mainSession.cancelIfWaitingForLock(d.worker().session.backendPid());
            }
            if (progress.awaitUnit(d.end(), LockWatch.INTERVAL_MS)) {
                return;
            }
        }
    }

    /** True when a change of a plain transaction is applied here (not only node-local {@code mtm} state). */
    private boolean appliedHere(PgOutputMessage m) {
        return switch (m.type()) {
            case 'I' -> !ApplySession.nodeLocal(relations.require(((Insert) m).relationId()));
            case 'U' -> !ApplySession.nodeLocal(relations.require(((Update) m).relationId()));
            case 'D' -> !ApplySession.nodeLocal(relations.require(((Delete) m).relationId()));
            case 'T' -> {
                Truncate t = (Truncate) m;
                boolean any = false;
                for (int i = 0; i < t.relationCount(); i++) {
                    any |= !ApplySession.nodeLocal(relations.require(t.relationId(i)));
                }
                yield any;
            }
            case 'M' -> {
                PgOutputMessage.LogicalMessage lm = (PgOutputMessage.LogicalMessage) m;
                yield lm.transactional() && (ReplicatedDdl.PREFIX.equals(lm.prefix()) || ReplicatedDdl.END_PREFIX.equals(lm.prefix())
                        || ReplicatedDdl.VALUE_PREFIX.equals(lm.prefix()) || ReplicatedDdl.CHECK_PREFIX.equals(lm.prefix())
                        || ReplicatedDdl.LOCAL_PREFIX.equals(lm.prefix()));
            }
            default -> true;
        };
    }

    private void dispatch() throws Exception {
        BeginPrepare b = pendingBegin;
        Worker w = idle.poll();
        if (w == null && workers.size() < maxWorkers) {
            w = new Worker(workers.size() + 1, sessions.open(workers.size() + 1));
            synchronized (workers) {
                workers.add(w);
            }
            LOG.debug("node {}: apply worker {} for node {} opened", self, w.index, peer);
        }
        while (w == null) {
            w = idle.poll(CHECK_MS, TimeUnit.MILLISECONDS);
            progress.checkFailure();
        }
        progress.register(b.endLsn());
        dispatched.put(b.gid(), new Dispatched(b.endLsn(), w));
        current = w;
        route = Route.WORKER;
        w.send(b);
    }

    /** Forwards the relation messages {@code m} depends on that the target has not been sent yet. */
    private void relationsFor(PgOutputMessage m, Map<Integer, Relation> sent, Sink sink) throws Exception {
        switch (m.type()) {
            case 'I' -> relationFor(((Insert) m).relationId(), sent, sink);
            case 'U' -> relationFor(((Update) m).relationId(), sent, sink);
            case 'D' -> relationFor(((Delete) m).relationId(), sent, sink);
            case 'T' -> {
                Truncate t = (Truncate) m;
                for (int i = 0; i < t.relationCount(); i++) {
                    relationFor(t.relationId(i), sent, sink);
                }
            }
            default -> {
                // messages without a relation
            }
        }
    }

    private void relationFor(int relationId, Map<Integer, Relation> sent, Sink sink) throws Exception {
        Relation r = relations.require(relationId);
        if (sent.get(relationId) != r) {
            sink.accept(r);
            sent.put(relationId, r);
        }
    }

    private interface Sink {
        void accept(PgOutputMessage m) throws Exception;
    }

    private void expectRoute(Route expected, PgOutputMessage m) {
        if (route != expected) {
            throw new IllegalStateException("node " + self + ": stream of node " + peer + " sent " + m + " while "
                    + (route == Route.NONE ? "outside a transaction" : "inside a transaction"));
        }
    }

    private boolean stopped() {
        return closed || stopping.getAsBoolean();
    }

    /** From another thread: noted for a worker that begins {@code gid} later, and marks the one applying it now. */
    @Override
    public void abortDecided(String gid) {
        StreamApplier.rememberAbortDecided(abortsDecided, gid);
        MessageApplier.super.abortDecided(gid);
    }

    @Override
    public long takeFinished() {
        long w = progress.watermark();
        if (w > confirmed) {
            confirmed = w;
            if (dispatched.size() > 10_000) { // K/r that never came through this stream: nothing left to wait for
                dispatched.values().removeIf(d -> d.end() <= w);
            }
            return w;
        }
        return 0;
    }

    @Override
    public List<ApplySession> sessions() {
        List<ApplySession> all = new ArrayList<>();
        all.add(mainSession);
        for (Worker w : workersSnapshot()) {
            all.add(w.session);
        }
        return all;
    }

    @Override
    public void checkFailure() throws Exception {
        progress.checkFailure();
    }

    @Override
    public void cancel() {
        closed = true;
        progress.fail(new SQLException("the receiver of node " + peer + " is stopping", "57014"));
        for (Worker w : workersSnapshot()) {
            w.session.cancel();
            w.session.abort();
            w.thread.interrupt();
        }
    }

    private List<Worker> workersSnapshot() {
        synchronized (workers) {
            return new ArrayList<>(workers);
        }
    }

    @Override
    public int workers() {
        synchronized (workers) {
            return 1 + workers.size();
        }
    }

    /** Stops every worker: running statements are cancelled, open transactions rolled back by the server. */
    @Override
    public void close() {
        cancel();
        for (Worker w : workersSnapshot()) {
            try {
                w.thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            w.session.close();
        }
        main.close();
    }

    /** One apply worker: a thread applying the transactions handed to it on its own session. */
    private final class Worker {
        final int index;
        final ApplySession session;
        final StreamApplier applier;
        final Map<Integer, Relation> sent = new HashMap<>();
        final BlockingQueue<PgOutputMessage> queue = new ArrayBlockingQueue<>(QUEUE);
        final Thread thread;

        Worker(int index, ApplySession session) {
            this.index = index;
            this.session = session;
            this.applier = new StreamApplier(self, peer, session, votes, ParallelApplier.this::stopped, currentGeneration,
                    progress::recordable, new ForeignFinishes(peer), gate); // a worker never sees a K or r
            applier.shareAbortsDecided(abortsDecided);
            this.thread = new Thread(this::run, "mtm-apply-" + peer + "-" + index);
            thread.setDaemon(true);
            thread.start();
        }

        void send(PgOutputMessage m) throws Exception {
            while (!queue.offer(m, CHECK_MS, TimeUnit.MILLISECONDS)) {
                progress.checkFailure();
            }
        }

        private void run() {
            try {
                while (!closed) {
                    PgOutputMessage m = queue.take();
                    applier.handle(m);
                    if (m instanceof Prepare p) {
                        progress.done(p.endLsn());
                        idle.add(this);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // closing
            } catch (Exception e) {
                if (!closed) {
                    progress.fail(e);
                    onWorkerFailure.run();
                }
            }
        }
    }
}
