package org.mtm.applier.internal;

import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.Statement;
import java.sql.SQLException;
import java.util.Optional;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.LongSupplier;
import java.util.concurrent.TimeUnit;
import org.mtm.api.ClusterNode;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.Conninfo;
import org.mtm.api.Gid;
import org.mtm.api.LocalDatabase;
import org.mtm.api.ReceiverInfo;
import org.mtm.api.ReceiverMode;
import org.mtm.api.RecoveryProgress;
import org.mtm.api.Replication;
import org.mtm.applier.internal.pgoutput.Lsn;
import org.mtm.applier.internal.pgoutput.PgOutputDecoder;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.postgresql.Driver;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.postgresql.replication.fluent.logical.ChainedLogicalStreamBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiver of one peer: a thread that holds a logical replication connection to the peer's
 * PostgreSQL (slot {@code mtm_slot_<self>}, pgoutput protocol 3 with two-phase and logical messages,
 * publication {@code mtm_publication}) and an {@link ApplySession} on the local PostgreSQL, and feeds
 * every decoded message to a {@link StreamApplier}.
 *
 * <p>It streams from the local replication origin's durable progress (0: the slot's confirmed position)
 * and confirms to the peer ({@code flush}/{@code apply} LSN of the standby status) only the end of units
 * the applier finished, so the peer's slot keeps everything not yet durable here. Any failure — the
 * peer or the local server unreachable, the slot or origin missing, a transaction that cannot be voted on
 * — closes both connections, is logged as a WARN naming the peer, and is retried after a capped
 * backoff; nothing is skipped.
 *
 * <p>{@link #stop()} cancels the running statement and closes both connections, so it returns promptly
 * even while the applier waits for a lock; the open transaction is rolled back by the server and applied
 * again by the next receiver (see {@link StreamApplier} for the exactly-once cases).
 */
final class Receiver {
    private static final Logger LOG = LoggerFactory.getLogger(Receiver.class);
    private static final Driver DRIVER = new Driver();
    private static final long STATUS_INTERVAL_MS = 1000;
    private static final long STOP_WAIT_MS = 10_000;
    /** Delay before streaming again a PREPARE of a generation this node has not adopted yet. */
    static final long GENERATION_WAIT_MS = 100;
    /** How often a receiver looks again for its slot on a peer that has none yet ({@link SlotAbsent}). */
    static final long SLOT_WAIT_MS = 1000;
    /** How often a recovery receiver logs how far it is. */
    private static final long RECOVERY_REPORT_MS = 5000;
    /** How often a recovery receiver asks the donor for its WAL end (lag). */
    private static final long LAG_INTERVAL_MS = 500;
    /** How long a stopping recovery receiver may take to prepare its buffered transactions before it is cut off. */
    private static final long RECOVERY_STOP_GRACE_MS = 2000;
    /** How often a receiver holding its peer's slot (ForeignHold) polls a stream idle for {@value #HOLD_BUSY_MS} ms or more. */
    static final long HOLD_POLL_MS = 20;
    /** ... and one that had a message within the last {@value #HOLD_BUSY_MS} ms: the next one is likely near. */
    static final long HOLD_BUSY_POLL_MS = 1;
    static final long HOLD_BUSY_MS = 250;
    /** Units finished between cleanups of mtm.applied_xacts. */
    private static final int CLEANUP_EVERY = 1000;

    private final int self;
    private final ClusterNode peer;
    private final LocalDatabase local;
    private final VoteSender votes;
    private final ApplierSettings settings;
    private final LongSupplier currentGeneration;
    private final PrepareGate gate;
    private final int peers;
    /** NORMAL: the peer's own transactions, voted on; RECOVERY: everything in the donor's WAL, until a marker. */
    private final ReceiverMode mode;
    private final long untilGeneration;
    private final Backoff backoff = new Backoff(200, 5000);
    private final Object wake = new Object();
    private final Thread thread;

    private volatile boolean stopping;
    private volatile int failures;
    /**
     * When the peer was first seen without a slot for this node in the current wait (0: not waiting): logged once at
     * INFO, and once at WARN when it lasts {@value #SLOT_PATIENCE_MS} ms (a joining node may take minutes to catch up;
     * a slot dropped by hand never comes back).
     */
    private long waitingForSlotSince;
    private boolean slotWaitWarned;
    private volatile int slotWaits;
    static final long SLOT_PATIENCE_MS = 300_000;
    /** A transaction of the stream that fails again and again (the node is then not online: see ApplyStall). */
    private final ApplyStall stall = new ApplyStall();
    /** The progress the current stream applies after: the start of the unit a failure is about. */
    private volatile long appliedFrom;
    private volatile ReceiverInfo info;
    private volatile ApplySession apply;
    private volatile Connection replication;
    private volatile MessageApplier applier;
    private LockWatch lockWatch;
    /** The node's share of the cluster's wait-for graph (global deadlock detection); null: none. */
    private LockGraph lockGraph;
    // recovery: the donor's highest marker applied, whether the plan's marker was reached, and the lag
    private volatile long markerGeneration;
    private volatile boolean reached;
    /** The plan's marker was applied by the previous recovery receiver of this donor (see {@link #recovery}). */
    private boolean reachedBefore;
    private volatile long lagBytes = -1;
    /** Of a normal receiver: how far behind its peer it is (the metrics read it). */
    private final ApplyLag lag = new ApplyLag();
    /** Shared with the node's early committer (normal mode); a receiver of its own has nobody to share with. */
    private EarlyFinishes earlyFinishes = new EarlyFinishes();
    /** Of a recovery receiver: why the WAL this node needs is gone at the donor (null: it is not known to be). */
    private volatile String walGone;

    Receiver(int self, ClusterNode peer, LocalDatabase local, VoteSender votes, ApplierSettings settings) {
        this(self, peer, local, votes, settings, () -> 0L, 1);
    }

    /**
     * @param currentGeneration the generation this node is online in (0: unknown, -1: not online); see
     *                          {@link StreamApplier}
     * @param peers             how many peers this node has: their receivers share the server's replication
     *                          origin states ({@code max_replication_slots}), one per apply worker
     */
    Receiver(int self, ClusterNode peer, LocalDatabase local, VoteSender votes, ApplierSettings settings,
             LongSupplier currentGeneration, int peers) {
        this(self, peer, local, votes, settings, currentGeneration, PrepareGate.OPEN, peers, ReceiverMode.NORMAL, 0);
    }

    /**
     * @param gate admits each PREPARE of an {@code MTM-} gid for its generation (normal mode)
     */
    Receiver(int self, ClusterNode peer, LocalDatabase local, VoteSender votes, ApplierSettings settings,
             LongSupplier currentGeneration, PrepareGate gate, int peers) {
        this(self, peer, local, votes, settings, currentGeneration, gate, peers, ReceiverMode.NORMAL, 0);
    }

    /**
     * The recovery receiver of a {@link org.mtm.api.ReplicationPlan.Mode#RECOVERY} plan: streams the donor's slot
     * {@code mtm_slot_<self>} from this node's progress of {@code mtm_node_<donor>} and applies everything in it
     * serially with a {@link RecoveryApplier}, without votes, until the donor's marker of {@code untilGeneration}
     * or later ({@link Long#MAX_VALUE}: never); then it stops and reports {@link #reached()}.
     */
    static Receiver recovery(int self, ClusterNode donor, LocalDatabase local, ApplierSettings settings, long untilGeneration) {
        return recovery(self, donor, local, settings, untilGeneration, 0);
    }

    /**
     * As {@link #recovery(int, ClusterNode, LocalDatabase, ApplierSettings, long)}, after a recovery receiver of the
     * same donor that applied, in stream order, everything up to the donor's marker of {@code markerApplied}. A
     * catch-up (no end) that applies the marker of the very generation the node then recovers into may have confirmed
     * the donor's slot past it before the plan changed, and the new stream would never bring it again (CrashPointsIT
     * in CI: node 2 recovering "until its marker of generation 7" for minutes after its catch-up had applied it). When
     * {@code markerApplied} reaches {@code untilGeneration} there is nothing left to stream: reached at once.
     */
    static Receiver recovery(int self, ClusterNode donor, LocalDatabase local, ApplierSettings settings, long untilGeneration,
                             long markerApplied) {
        Receiver r = new Receiver(self, donor, local, (node, message) -> { }, settings, () -> -1L, PrepareGate.OPEN, 1,
                ReceiverMode.RECOVERY, untilGeneration);
        if (markerApplied > 0 && markerApplied >= untilGeneration) {
            r.markerGeneration = markerApplied;
            r.reachedBefore = true;
        }
        return r;
    }

    private Receiver(int self, ClusterNode peer, LocalDatabase local, VoteSender votes, ApplierSettings settings,
                     LongSupplier currentGeneration, PrepareGate gate, int peers, ReceiverMode mode, long untilGeneration) {
        this.gate = gate;
        this.mode = mode;
        this.untilGeneration = untilGeneration;
        this.currentGeneration = currentGeneration;
        this.peers = Math.max(1, peers);
        this.self = self;
        this.peer = peer;
        this.local = local;
        this.votes = votes;
        this.settings = settings;
        this.info = ReceiverInfo.disabled(peer.id());
        this.thread = new Thread(this::run, (mode == ReceiverMode.RECOVERY ? "mtm-recovery-" : "mtm-receiver-") + peer.id());
        thread.setDaemon(true);
    }

    int self() {
        return self;
    }

    /** The claims on COMMIT PREPARED this receiver shares with the node's {@link EarlyCommitter}; before {@link #start}. */
    Receiver earlyFinishes(EarlyFinishes finishes) {
        this.earlyFinishes = finishes;
        return this;
    }

    /** Shares the waits of this stream's applies with the node's {@link LockGraph} (before {@link #start}). */
    Receiver lockGraph(LockGraph graph) {
        this.lockGraph = graph;
        return this;
    }

    int peers() {
        return peers;
    }

    ClusterNode peer() {
        return peer;
    }

    ApplierSettings settings() {
        return settings;
    }

    ReceiverInfo info() {
        return info;
    }

    ReceiverMode mode() {
        return mode;
    }

    ApplyLag lag() {
        return lag;
    }

    long untilGeneration() {
        return untilGeneration;
    }

    /** Of a recovery receiver: how far it has come (see {@link RecoveryProgress}). */
    RecoveryProgress recoveryProgress() {
        return new RecoveryProgress(peer.id(), markerGeneration, reached, reached ? 0 : lagBytes);
    }

    /** Of a recovery receiver: why the WAL this node needs is gone at the donor; null while it is not known to be. */
    String walGone() {
        return walGone;
    }

    /**
     * Why the WAL this node needs is gone at the donor, judged from a failed recovery and, when the error does not
     * say, from the donor's {@code pg_replication_slots}; null when it is not (or the donor cannot be asked).
     */
    private String walGoneAtDonor(Exception e) {
        if (WalGone.saysGone(e)) {
            return describe(e);
        }
        String slot = Replication.slotName(self);
        try (Connection c = connectToPeer(false);
             java.sql.PreparedStatement ps = c.prepareStatement(
                 "SELECT wal_status FROM pg_catalog.pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                boolean exists = rs.next();
                String why = WalGone.fromSlot(slot, exists, exists ? rs.getString(1) : null);
                return why == null ? null : why + " (" + describe(e) + ")";
            }
        } catch (SQLException | RuntimeException unknown) {
            return null; // the donor cannot say now: retried as any failure
        }
    }

    /** Of a recovery receiver: it applied the marker its plan waits for, and stopped. */
    boolean reached() {
        return reached;
    }

    /** Of a recovery receiver: the donor's highest generation marker it applied (0: none). */
    long markerGeneration() {
        return markerGeneration;
    }

    /** The failure this receiver's stream is stuck on ({@link ApplyStall}), or empty. */
    Optional<String> stall() {
        return stall.cause();
    }

    /** How often streaming failed and was started again (conflicts must never count here: they are votes). */
    /** How often this receiver found no slot for it on the peer ({@link SlotAbsent}): waits, not failures. */
    int slotWaits() {
        return slotWaits;
    }

    int failures() {
        return failures;
    }

    Receiver start() {
        thread.start();
        return this;
    }

    /** Stops streaming and applying; returns once the thread has ended (or after a bound, logged). */
    void stop() {
        stopping = true;
        wakeUp();
        if (mode == ReceiverMode.RECOVERY && thread.isAlive() && Thread.currentThread() != thread) {
            // a moment to prepare what waits for its COMMIT PREPARED on the still open session (RecoveryApplier)
            try {
                thread.join(RECOVERY_STOP_GRACE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        disconnect();
        try {
            thread.join(STOP_WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.warn("node {}: receiver for node {} did not stop within {} ms", self, peer.id(), STOP_WAIT_MS);
        }
    }

    /**
     * Drops both connections so the receiver reconnects after its backoff, e.g. when the peer fell silent:
     * a replication connection to a host that vanished without a reset would otherwise wait forever.
     */
    void reconnect() {
        if (!stopping) {
            LOG.info("node {}: reconnecting the receiver for node {}", self, peer.id());
            disconnect();
        }
    }

    /** From another thread: the coordinator of {@code gid} decided abort ({@link MessageApplier#abortDecided}). */
    void abortDecided(String gid) {
        MessageApplier m = applier;
        if (m != null) {
            m.abortDecided(gid);
        }
    }

    /** Ends a backoff wait early (the peer is back). */
    void retryNow() {
        wakeUp();
    }

    private void wakeUp() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    private void disconnect() {
        MessageApplier m = applier;
        if (m != null) {
            m.cancel();
        }
        abortReplication();
        ApplySession a = apply;
        if (a != null) {
            a.cancel();
            a.abort();
        }
    }

    /** Ends a blocked read of the stream (the receiver then reconnects, or stops). */
    private void abortReplication() {
        Connection r = replication;
        if (r != null) {
            try {
                r.abort(Runnable::run);
            } catch (SQLException e) {
                // already closed
            }
        }
    }

    /**
     * The marker was applied by the previous receiver, whose one-phase commits may not be flushed yet: one synchronous
     * commit flushes the WAL up to it (flushes are in order), then the recovery reports reached. If that fails, the
     * stream runs as usual.
     */
    private void reachedAlready() {
        try (Connection c = local.connect(); Statement st = c.createStatement()) {
            st.execute(ApplySession.SYNC_POINT_SQL);
            reached = true;
            LOG.info("node {}: donor {}'s marker of generation {} was applied before this recovery began (by the catch-up)",
                    self, peer.id(), markerGeneration);
        } catch (SQLException e) {
            LOG.warn("node {}: cannot make the catch-up durable ({}); recovering from donor {} by streaming", self,
                    e.getMessage(), peer.id());
        }
    }

    private void run() {
        if (reachedBefore) {
            reachedAlready();
        }
        while (!stopping && !reached) {
            long delay = 0;
            try {
                receive();
            } catch (GenerationWait e) {
                if (stopping) {
                    break;
                }
                delay = GENERATION_WAIT_MS;
                LOG.debug("node {}: receiver for node {}: {}; retrying in {} ms", self, peer.id(), e.getMessage(), delay);
            } catch (SlotAbsent e) {
                if (stopping) {
                    break;
                }
                delay = SLOT_WAIT_MS;
                slotWaits++;
                long now = System.currentTimeMillis();
                if (waitingForSlotSince == 0) {
                    waitingForSlotSince = now;
                    LOG.info("node {}: receiver for node {}: {}; looking again every {} ms", self, peer.id(), e.getMessage(), delay);
                } else if (!slotWaitWarned && now - waitingForSlotSince >= SLOT_PATIENCE_MS) {
                    slotWaitWarned = true;
                    LOG.warn("node {}: receiver for node {}: {} after {} s: if node {} is not catching up after mtm.join_node,"
                            + " its slot was dropped: this node then needs to be dropped and added again", self, peer.id(),
                            e.getMessage(), (now - waitingForSlotSince) / 1000, peer.id());
                }
            } catch (Exception e) {
                if (stopping) {
                    break;
                }
                if (mode == ReceiverMode.RECOVERY && (walGone = walGoneAtDonor(e)) != null) {
                    LOG.error("node {}: cannot recover from donor {}: the WAL this node needs is gone there: {}. Another"
                        + " donor is tried if one still has it; else this node is disabled and must be dropped"
                        + " (mtm.drop_node({})) and added again", self, peer.id(), walGone, self);
                    break; // the same donor can never serve it again
                }
                delay = backoff.next();
                failures++;
                if (e instanceof UnappliedException && stall.failed(appliedFrom, describe(e))) {
                    // (appliedFrom: the end of the last unit this stream finished; the failing one comes after it)
                    LOG.error("node {}: the stream of node {} is stuck on a transaction that fails here {} times in a row and"
                            + " cannot be voted down (it was committed on node {} outside the cluster's commit): {}. This node"
                            + " is disabled until it applies; make the schemas agree (or re-add this node)", self, peer.id(),
                            ApplyStall.FAILURES, peer.id(), describe(e));
                }
                LOG.warn("node {}: receiver for node {} ({}) failed: {}; retrying in {} ms", self, peer.id(),
                        safeConninfo(), describe(e), delay);
                LOG.debug("node {}: receiver for node {} failure", self, peer.id(), e);
            } finally {
                info = mode == ReceiverMode.RECOVERY ? new ReceiverInfo(peer.id(), null, null, 0, ReceiverMode.RECOVERY)
                        : ReceiverInfo.disabled(peer.id());
                if (lockWatch != null) {
                    lockWatch.stop();
                    lockWatch = null;
                }
                MessageApplier m = applier;
                applier = null;
                if (m != null) {
                    m.close();
                }
                ApplySession a = apply;
                apply = null;
                if (a != null) {
                    a.close();
                }
                closeQuietly(replication);
                replication = null;
            }
            if (delay > 0) {
                awaitRetry(delay);
            }
        }
        if (reached) {
            LOG.info("node {}: recovery from donor {} reached its marker of generation {}; stopped streaming", self, peer.id(),
                    markerGeneration);
        } else {
            LOG.info("node {}: receiver for node {} stopped", self, peer.id());
        }
    }

    /** Waits {@code delayMs}, or less when stopped or told to retry now. */
    private void awaitRetry(long delayMs) {
        synchronized (wake) {
            if (stopping) {
                return;
            }
            try {
                wake.wait(delayMs); // an early (or spurious) wake-up only means an earlier retry
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stopping = true;
            }
        }
    }

    private void receive() throws Exception {
        if (mode == ReceiverMode.RECOVERY) {
            recover();
            return;
        }
        apply = ApplySession.open(local, self, peer.id(), settings);
        if (stopping) {
            return;
        }
        replication = connectToPeer();
        if (stopping) {
            return;
        }
        requireSlot(replication);
        long start = apply.originProgress();
        appliedFrom = start;
        revotePrepared();
        apply.forgetAppliedUpTo(start);
        int workerCap = workerCap();
        PGConnection pg = replication.unwrap(PGConnection.class);
        // from the slot's confirmed position (ForeignHold may keep it below the progress: its hold is rebuilt from
        // what lies in between), applying only what follows the progress (ResumeFilter)
        ChainedLogicalStreamBuilder builder = pg.getReplicationAPI().replicationStream().logical()
                .withSlotName(Replication.slotName(self))
                .withStartPosition(LogSequenceNumber.INVALID_LSN)
                .withStatusInterval((int) STATUS_INTERVAL_MS, TimeUnit.MILLISECONDS);
        streamOptions(replication.getMetaData().getDatabaseMajorVersion()).forEach(builder::withSlotOption);
        PGReplicationStream stream = builder.start();
        ResumeFilter resume = new ResumeFilter(start);
        int senderPid = pg.getBackendPID();
        int receiverPid = apply.backendPid();
        LOG.info("node {}: receiving from node {} on slot {} from the slot's confirmed position, applying after {}, with up to {}"
                + " apply worker(s)", self, peer.id(), Replication.slotName(self), start == 0 ? "it" : Lsn.format(start), workerCap);
        ApplySession main = apply;
        MessageApplier a = workerCap <= 1
                ? new StreamApplier(self, peer.id(), main, votes, () -> stopping, currentGeneration,
                        java.util.function.LongUnaryOperator.identity(), new ForeignFinishes(peer.id()), gate)
                : new ParallelApplier(self, peer.id(), workerCap, main,
                        k -> ApplySession.open(local, self, peer.id(), k, settings), votes, () -> stopping,
                        currentGeneration, start, this::abortReplication, gate);
        a.earlyFinishes(earlyFinishes);
        applier = a;
        if (settings.prevention() != DeadlockPrevention.OFF || lockGraph != null) {
            lockWatch = new LockWatch(self, peer.id(), local, settings.prevention(), a::sessions, lockGraph).start();
        }
        info = new ReceiverInfo(peer.id(), senderPid, receiverPid, a.workers(), ReceiverMode.NORMAL);
        PgOutputDecoder decoder = new PgOutputDecoder();
        MissingOrigins origins = new MissingOrigins(self, peer.id());
        boolean first = true;
        int finishedSinceCleanup = 0;
        long finished = 0;
        long confirmed = 0;
        long lastData = System.nanoTime();
        OwedFinishes owed = new OwedFinishes();
        try (ForeignHold hold = new ForeignHold(local, self)) {
        while (!stopping) {
            ByteBuffer data;
            boolean holding = hold.holding() && !owed.any();
            try {
                // while holding, not blocked on an idle peer: the hold releases when this node gets the unit from
                // its origin, not when the peer sends something — unless the stream owes a COMMIT/ROLLBACK PREPARED,
                // which is sure to come (and the hold is looked at again then)
                data = holding ? stream.readPending() : stream.read();
            } catch (SQLException e) {
                a.checkFailure(); // a failed worker aborted the stream to wake us: report its failure
                throw e;
            }
            if (data == null && holding) {
                finished = Math.max(finished, a.takeFinished()); // a parallel worker may finish meanwhile
                lag.applied(finished);
                hold.recheck();
                long confirm = hold.confirmable(finished);
                if (confirm > confirmed) {
                    confirmed = confirm;
                    stream.setAppliedLSN(LogSequenceNumber.valueOf(confirm));
                    stream.setFlushedLSN(LogSequenceNumber.valueOf(confirm));
                    // sent now: once the hold is gone the next read blocks, and pgjdbc sends a status only after a
                    // message arrives — from an idle peer (wal_sender_timeout = 0: no keepalives) that may be never,
                    // and its slot would keep the WAL the hold no longer needs (RecoveryTest, flaky in CI)
                    stream.forceUpdateStatus();
                }
                synchronized (wake) {
                    if (!stopping) {
                        wake.wait(holdPollMs(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastData)));
                    }
                }
                continue;
            }
            if (data == null) {
                throw new SQLException("the replication stream of node " + peer.id() + " ended", "08006");
            }
            lastData = System.nanoTime();
            if (first) {
                if (stall.cause().isEmpty()) {
                    backoff.reset(); // streaming works: a later failure starts again from a short delay
                }
                first = false;
            }
            for (PgOutputMessage message : origins.pass(decoder.decode(data))) {
                hold.seen(message);
                owed.seen(message);
                lag.received(message, lastData);
                if (resume.done(message)) {
                    lag.applied(ApplyLag.unitEnd(message));
                    continue; // done here before this stream started; seen by the hold only
                }
                try {
                    a.handle(message);
                } catch (GenerationWait e) {
                    release(stream, main);
                    throw e;
                }
                lag.committed(message);
            }
            long done = a.takeFinished();
            if (done != 0) {
                finished = Math.max(finished, done);
                lag.applied(finished);
                appliedFrom = Math.max(appliedFrom, done);
                if (stall.progressed(done)) {
                    LOG.info("node {}: the stream of node {} moves again: the transaction it was stuck on is applied", self,
                            peer.id());
                }
                if (++finishedSinceCleanup >= CLEANUP_EVERY) {
                    finishedSinceCleanup = 0;
                    main.forgetAppliedUpTo(main.originProgress());
                }
            }
            hold.recheck();
            long confirm = hold.confirmable(finished);
            if (confirm > confirmed) {
                // the peer's slot keeps what a recovery from it as a donor may still need (ForeignHold)
                confirmed = confirm;
                LogSequenceNumber lsn = LogSequenceNumber.valueOf(confirm);
                stream.setAppliedLSN(lsn);
                stream.setFlushedLSN(lsn);
            }
            if (info.workers() != a.workers()) {
                info = new ReceiverInfo(peer.id(), senderPid, receiverPid, a.workers(), ReceiverMode.NORMAL);
            }
        }
        }
    }

    /**
     * How long a receiver that holds its peer's slot ({@link ForeignHold}) waits before it polls the stream again, the
     * stream having been idle for {@code idleMs}. It polls only while the stream owes no finish ({@link OwedFinishes}:
     * otherwise it blocks); it cannot block then (the hold must release while the peer is idle), and every PREPARE and
     * COMMIT PREPARED that arrives during the wait waits with it, on the commit path of its origin's client: so a short
     * wait while the peer is busy, the long one only once it has been idle a while.
     */
    static long holdPollMs(long idleMs) {
        return idleMs < HOLD_BUSY_MS ? HOLD_BUSY_POLL_MS : HOLD_POLL_MS;
    }

    /**
     * Recovery from the donor: its stream from this node's progress of {@code mtm_node_<donor>}, every transaction
     * applied serially ({@link RecoveryApplier}). Read without blocking, so that every {@value #LAG_INTERVAL_MS} ms
     * the donor's {@code pg_current_wal_lsn()} (over a plain connection) gives the lag: the donor's WAL end minus the
     * applied position — the end of the last finished unit, or, between units, the last position the donor sent
     * (its keepalives carry its WAL end once everything is sent). Returns once the marker is reached.
     */
    private void recover() throws Exception {
        apply = ApplySession.open(local, self, peer.id(), settings);
        if (stopping) {
            return;
        }
        apply.advanceOriginsToLoggedPlain();
        if (settings.asyncCatchUp()) {
            apply.commitAsynchronously();
        }
        replication = connectToPeer(true);
        if (stopping) {
            return;
        }
        // from the slot's confirmed position, not this node's progress of the donor's own transactions: normal mode
        // confirms the donor's slot only up to the transactions of other origins this node has (ForeignHold), and
        // what this node applied already after that position is found applied (RecoveryApplier)
        long start = 0;
        PGConnection pg = replication.unwrap(PGConnection.class);
        ChainedLogicalStreamBuilder builder = pg.getReplicationAPI().replicationStream().logical()
                .withSlotName(Replication.slotName(self))
                .withStartPosition(LogSequenceNumber.INVALID_LSN)
                .withStatusInterval((int) STATUS_INTERVAL_MS, TimeUnit.MILLISECONDS);
        recoveryStreamOptions(replication.getMetaData().getDatabaseMajorVersion()).forEach(builder::withSlotOption);
        PGReplicationStream stream = builder.start();
        LOG.info("node {}: recovering from donor {} on slot {} from {}, {}", self, peer.id(), Replication.slotName(self),
                start == 0 ? "the slot's confirmed position" : Lsn.format(start),
                untilGeneration == Long.MAX_VALUE ? "catching up without end" : "until its marker of generation " + untilGeneration);
        // catchup_workers (issue 9: catch up faster than the cluster writes), within the apply workers' cap: each
        // uses a replication origin, and the server tracks a bounded number of them
        int workers = settings.asyncCatchUp() ? Math.min(settings.catchUpWorkers(), workerCap()) : 1;
        RecoveryApplier a = new RecoveryApplier(self, peer.id(), untilGeneration, apply, () -> stopping,
                settings.asyncCatchUp(), workers, k -> ApplySession.open(local, self, peer.id(), k, settings));
        applier = a;
        info = new ReceiverInfo(peer.id(), pg.getBackendPID(), apply.backendPid(), a.applyingSessions(), ReceiverMode.RECOVERY);
        PgOutputDecoder decoder = new PgOutputDecoder();
        MissingOrigins origins = new MissingOrigins(self, peer.id());
        long applied = start;
        long nextLag = 0;
        long nextReport = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RECOVERY_REPORT_MS);
        long reportedAt = applied;
        long messages = 0;
        boolean first = true;
        long confirmed = 0;
        boolean ended = false;
        try (Connection donorSql = connectToPeer(false)) {
            while (!stopping) {
                ByteBuffer data = stream.readPending();
                if (data != null) {
                    if (first) {
                        backoff.reset();
                        first = false;
                        if (reportedAt == 0) {
                            reportedAt = stream.getLastReceiveLSN().asLong(); // where the slot let this stream start
                        }
                    }
                    for (PgOutputMessage m : origins.pass(decoder.decode(data))) {
                        a.handle(m);
                    }
                    messages++;
                    long done = a.takeFinished();
                    if (done != 0) {
                        applied = Math.max(applied, done);
                    }
                    markerGeneration = a.markerGeneration();
                    if (a.reached()) {
                        // what waits for its K is prepared, and the normal streams finish it; then all of it durable
                        a.prepareBuffered();
                        a.syncPoint();
                        confirm(stream, a.confirmable());
                        stream.forceUpdateStatus();
                        ended = true;
                        reached = true;
                        lagBytes = 0;
                        return;
                    }
                }
                a.syncIfDue();
                long confirm = a.confirmable();
                if (confirm > confirmed) {
                    // only what is durable here and before the P of every transaction still waiting for its K
                    confirmed = confirm;
                    confirm(stream, confirm);
                }
                if (!a.inUnit()) {
                    applied = Math.max(applied, stream.getLastReceiveLSN().asLong());
                }
                long now = System.nanoTime();
                if (now - nextLag >= 0 && applied > 0) {
                    // not before the stream said where it is (a message or a keepalive): the lag would be the donor's
                    // whole WAL position, and tx_delay_on_slow_catchup would act on it
                    nextLag = now + TimeUnit.MILLISECONDS.toNanos(LAG_INTERVAL_MS);
                    lagBytes = Math.max(0, donorWalEnd(donorSql) - applied);
                }
                if (now - nextReport >= 0) {
                    nextReport = now + TimeUnit.MILLISECONDS.toNanos(RECOVERY_REPORT_MS);
                    LOG.info("node {}: recovery from donor {}: at {}, {} kB behind its WAL end, {} kB and {} messages in the last {} s",
                            self, peer.id(), Lsn.format(applied), lagBytes / 1024, Math.max(0, applied - reportedAt) / 1024, messages,
                            RECOVERY_REPORT_MS / 1000);
                    if (applied > 0) {
                        reportedAt = applied;
                    }
                    messages = 0;
                }
                if (data == null) {
                    synchronized (wake) {
                        if (!stopping) {
                            wake.wait(10);
                        }
                    }
                }
            }
        } finally {
            if (!ended) {
                prepareBufferedOnStop(a);
            }
        }
    }

    private static void confirm(PGReplicationStream stream, long upTo) {
        LogSequenceNumber lsn = LogSequenceNumber.valueOf(upTo);
        stream.setAppliedLSN(lsn);
        stream.setFlushedLSN(lsn);
    }

    /**
     * A recovery that stops (plan change, failure, stop) prepares what still waits for its K, as far as its session
     * still works: a next recovery or the normal streams find it prepared. What this does not reach was never
     * confirmed, so the donor's slot brings it again.
     */
    private void prepareBufferedOnStop(RecoveryApplier a) {
        try {
            a.prepareBuffered();
        } catch (SQLException | RuntimeException e) {
            LOG.debug("node {}: recovery from donor {} stopped with transactions waiting for their COMMIT PREPARED that could"
                    + " not be prepared ({}); the donor's slot streams them again", self, peer.id(), e.toString());
        }
    }

    /**
     * Ends the stream and releases the replication origin at once (a wait for a generation, not a failure): the
     * retry that follows shortly finds the slot and the origin free, where exiting backends would hold them a
     * moment longer.
     */
    private void release(PGReplicationStream stream, ApplySession main) {
        try {
            stream.close();
        } catch (SQLException e) {
            // the connection is closed next in any case
        }
        try {
            main.releaseOrigin();
        } catch (SQLException e) {
            // closed next in any case
        }
    }

    private static long donorWalEnd(Connection donor) throws SQLException {
        try (java.sql.Statement st = donor.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_current_wal_lsn()::text")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    /**
     * Apply workers for this peer: {@code max_workers}, but each uses a replication origin and the server
     * tracks at most {@code max_replication_slots} of them, shared by the receivers of all peers (one
     * origin each for their own session). 1 means serial apply.
     */
    private int workerCap() throws SQLException {
        int slots = apply.maxReplicationSlots();
        int budget = slots / peers - 1;
        int cap = Math.max(1, Math.min(settings.maxWorkers(), budget));
        if (settings.maxWorkers() > 1 && cap < settings.maxWorkers()) {
            LOG.debug("node {}: {} apply workers for node {} instead of max_workers={}: max_replication_slots={} is shared"
                    + " by {} peers", self, cap, peer.id(), settings.maxWorkers(), slots, peers);
        }
        return cap;
    }

    /** PREPARED again for every transaction of this peer prepared here: the vote may have been lost. */
    private void revotePrepared() throws SQLException {
        List<String> gids = apply.preparedGids(Gid.PREFIX + peer.id() + "-");
        for (String g : gids) {
            try {
                Gid gid = Gid.parse(g);
                votes.send(gid.originNode(), CommitMessage.of(Kind.PREPARED, gid));
            } catch (IllegalArgumentException e) {
                // MTM-<peer>-... but not a well-formed gid: nothing to vote on
            }
        }
        if (!gids.isEmpty()) {
            LOG.info("node {}: voted PREPARED again for {} transaction(s) of node {} prepared here", self, gids.size(), peer.id());
        }
    }

    /**
     * The pgoutput options of a peer's stream, normal or recovery: protocol 3 with two-phase decoding and logical
     * messages, every origin's transactions. Not {@code origin 'none'} on PostgreSQL 16 and later, although it would
     * spare the peer decoding what it applied from others: a normal receiver must see those to hold its
     * confirmations before the ones it does not have yet ({@link ForeignHold}), and a recovery applies them. The
     * appliers skip, in normal mode, the transactions that carry an {@code O} message.
     */
    static Map<String, String> streamOptions(int peerServerMajor) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("proto_version", "3");
        options.put("publication_names", Replication.PUBLICATION);
        options.put("two_phase", "on");
        options.put("messages", "true");
        return options;
    }

    /** The options of a recovery stream: the same as {@link #streamOptions}. */
    static Map<String, String> recoveryStreamOptions(int donorServerMajor) {
        return streamOptions(donorServerMajor);
    }

    /**
     * Throws {@link SlotAbsent} when the peer has no slot for this node (yet), asked on the replication connection
     * itself: a query, not a START_REPLICATION that would fail with an ERROR in the peer's log on every try.
     */
    private void requireSlot(Connection c) throws SQLException {
        String slot = Replication.slotName(self);
        try (java.sql.Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery(
                "SELECT pg_catalog.count(*) FROM pg_catalog.pg_replication_slots WHERE slot_name = " + Sql.quoteLiteral(slot))) {
            rs.next();
            if (rs.getLong(1) == 0) {
                throw new SlotAbsent("node " + peer.id() + " has no replication slot " + slot + " for this node yet (a node"
                        + " that joined makes its slots once it has caught up)");
            }
        }
        if (waitingForSlotSince != 0) {
            waitingForSlotSince = 0;
            slotWaitWarned = false;
            LOG.info("node {}: node {} has slot {} now", self, peer.id(), slot);
        }
    }

    private Connection connectToPeer() throws SQLException {
        return connectToPeer(true);
    }

    /** A replication connection to the peer, or a plain one ({@code replication} false: the donor's WAL end). */
    private Connection connectToPeer(boolean replication) throws SQLException {
        Conninfo conninfo = Conninfo.parse(peer.conninfo());
        Properties p = conninfo.jdbcProperties();
        if (replication) {
            p.setProperty("replication", "database");
            p.setProperty("options", decodingOptions(p.getProperty("options"), settings.transSpillThresholdKb()));
        } else {
            p.setProperty("ApplicationName", "mtm_recovery_lag_" + self);
        }
        p.setProperty("preferQueryMode", "simple");
        p.setProperty("assumeMinServerVersion", "10");
        p.setProperty("tcpKeepAlive", "true");
        p.putIfAbsent("ApplicationName", "mtm_receiver_" + self);
        p.putIfAbsent("connectTimeout", "10");
        Connection c = DRIVER.connect(conninfo.jdbcUrl(), p);
        if (c == null) {
            throw new SQLException("the PostgreSQL driver does not accept " + conninfo.jdbcUrl(), "08001");
        }
        return c;
    }

    /**
     * The replication connection's startup options: the conninfo's own, then {@code trans_spill_threshold} as the
     * peer's walsender's {@code logical_decoding_work_mem}: how large a transaction it decodes for this node may grow in
     * memory before it is spilled to disk (written and read back change by change: a 1M-row bulk load costs a
     * walsender three times the CPU spilled than in memory).
     */
    static String decodingOptions(String conninfoOptions, int transSpillThresholdKb) {
        String own = "-c logical_decoding_work_mem=" + transSpillThresholdKb + "kB";
        return conninfoOptions == null || conninfoOptions.isBlank() ? own : conninfoOptions + " " + own;
    }

    private String safeConninfo() {
        try {
            return Conninfo.parse(peer.conninfo()).toString();
        } catch (IllegalArgumentException e) {
            return "unparsable conninfo";
        }
    }

    private static String describe(Exception e) {
        if (e instanceof SQLException s && s.getSQLState() != null) {
            return s.getMessage() + " (SQLSTATE " + s.getSQLState() + ")";
        }
        return e.toString();
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // a broken connection: nothing left to release
            }
        }
    }
}
