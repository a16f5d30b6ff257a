package org.mtm.applier.internal;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.CrashPoints;
import org.mtm.api.CrashPoints.Point;
import org.mtm.api.Gid;
import org.mtm.api.PrepareAdmission;
import org.mtm.api.ReplicatedDdl;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Begin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Commit;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Delete;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Insert;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.LogicalMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Origin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Truncate;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Type;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Update;
import org.mtm.applier.internal.pgoutput.RelationCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one peer's decoded pgoutput stream, message by message, in stream order, on an
 * {@link ApplySession}, and answers the 3PC: PREPARED/ABORTED after each {@code b}…{@code P} of an
 * {@code MTM-} gid, COMMITTED after each {@code K}.
 *
 * <h2>What is applied</h2>
 * <ul>
 * <li>{@code b}…{@code P}: the row changes, then {@code PREPARE TRANSACTION '<gid>'} with the same gid,
 *     then a PREPARED vote to the gid's origin node. A failure rolls back and votes ABORTED with the
 *     SQLSTATE and message of {@link ApplyFailure} (lock bound or deadlock → 40P01). A gid outside the
 *     {@code MTM-} space is a user's own two-phase transaction: prepared the same way, no vote.</li>
 * <li>{@code K} / {@code r}: COMMIT / ROLLBACK PREPARED of the gid if it is prepared here — only when
 *     this stream is the one the transaction was applied from. The stream of a peer also carries the
 *     finishes of transactions the peer merely applied from a third node (pgoutput sends no {@code O}
 *     before a {@code K}/{@code r}); those are skipped: the origin's own stream finishes them, in the origin's
 *     commit order, and two receivers finishing one gid at once would collide ("is busy"). The rule, by the
 *     xid of a skipped {@code b} and by the origin node of an {@code MTM-} gid, is {@link ForeignFinishes}.
 *     COMMITTED is acknowledged to the origin of an {@code MTM-} gid.</li>
 * <li>{@code B}…{@code C}: a transaction that bypassed the gateway's commit (e.g. {@code application_name
 *     = mtm_admin}), committed on its origin without 3PC: applied and committed here asynchronously.</li>
 * <li>Not applied: a transaction with an {@code O} (origin) message — it was itself applied on the peer
 *     from another node, which streams it to us directly (PostgreSQL 15 pgoutput cannot filter by
 *     origin); changes of schema {@code mtm} except {@code mtm.local_tables}, and of tables listed in
 *     {@code mtm.local_tables}; the row changes between a {@code mtm.ddl} message and its
 *     {@code mtm.ddl_end}, which the re-executed statement produces itself.</li>
 * </ul>
 *
 * <h2>Ordering</h2>
 * Each unit (a transaction, a K, an r) is finished before the next message is applied, so a K/r is done
 * before any later change of the same stream, and commits keep the origin's order. ({@link ParallelApplier}
 * runs several of these, one per worker, and keeps the same rules across them.)
 *
 * <h2>Exactly once, across restarts of the receiver, the bundle, PostgreSQL or the node</h2>
 * The replication origin's progress is written in the same WAL record as each PREPARE, COMMIT PREPARED,
 * ROLLBACK PREPARED and COMMIT the applier runs ({@code pg_replication_origin_xact_setup} with the end LSN
 * of the unit, or a lower watermark on a parallel worker), and a (re)started receiver streams from that
 * progress. The peer's slot is only confirmed up to units finished here ({@link #takeFinished()}), so it
 * never skips past work that is not durable here. Every applied two-phase transaction also writes a row
 * (origin, end LSN of its PREPARE) into {@code mtm.applied_xacts} inside itself, which becomes visible
 * exactly when it commits here. The cases:
 * <ol>
 * <li>Stopped or crashed while applying a transaction, before its PREPARE/COMMIT: the open transaction
 *     is rolled back (by the server when the connection goes, by recovery after a crash), the progress
 *     was not advanced, the transaction is streamed again and applied once. No vote was sent.</li>
 * <li>Stopped or crashed after PREPARE, before the vote left: the progress covers the PREPARE, so the
 *     stream resumes after it and does not bring the {@code b} again; instead the receiver, when it
 *     starts, votes PREPARED again for every {@code MTM-<peer>-…} transaction prepared here. (A
 *     coordinator ignores votes for transactions it no longer waits for.)</li>
 * <li>A {@code b} streamed again (the progress recorded was a watermark below it) is not applied again
 *     when its gid is prepared here or its row is in {@code mtm.applied_xacts}; an {@code MTM-} one is
 *     voted PREPARED again.</li>
 * <li>Stopped or crashed after COMMIT PREPARED / ROLLBACK PREPARED: the progress covers it, the K/r is
 *     not streamed again; if it is (watermark), it finds nothing to finish. A K or r for a gid not prepared
 *     here (finished already, finished through another stream, or never prepared because it was voted
 *     down) does nothing. A COMMITTED ack lost by a crash or a link down is sent again when the coordinator
 *     is next reachable, within a minute of the apply ({@link ReceiverSupervisor#resendVotes}); later, the
 *     coordinator has stopped waiting for it after its bound.</li>
 * <li>Stopped between a plain COMMIT and the next message: the COMMIT carried the progress (plain
 *     transactions are applied alone, so that progress is their own end); nothing is streamed twice.</li>
 * <li>A transaction voted down is not prepared; its ROLLBACK PREPARED finds nothing here. If it is
 *     streamed again after a restart it is applied again and voted again: harmless, the coordinator
 *     decided at the first no.</li>
 * </ol>
 * <h2>Conflicts</h2>
 * Every lock wait of an {@code MTM-} transaction is bounded ({@code lock_timeout}, and the lock watch of
 * {@code deadlock_prevention}); any failure of it — at BEGIN, on a row, at DDL, at PREPARE — rolls it back
 * and votes ABORTED (conflicts as 40P01/40001), and the stream goes on. A transaction whose {@code r} arrives
 * while it still applies is abandoned without a vote ({@link ParallelApplier}): cancelled while it waits for a
 * lock, else stopped after the batch that runs (the rest of its changes skipped). A failure to apply a plain or
 * user two-phase transaction cannot be voted on: it waits {@link ApplySession#unvotedLockTimeoutMs() ten times
 * longer} for its locks (what it waits for is decided meanwhile, and later lock requests queue behind it),
 * and if it still fails it stops the stream (the receiver retries from the progress after a backoff), so
 * nothing is skipped silently — except an UPDATE/DELETE of a plain transaction that finds no row, which is
 * logged and passed over as PostgreSQL's own subscriber does. Neither can any failure while this node is not
 * online be voted on (its coordinator may commit without it): it stops the stream in the same way.
 *
 * <p>Not thread-safe: one receiver thread drives it.
 */
final class StreamApplier implements MessageApplier {
    private static final Logger LOG = LoggerFactory.getLogger(StreamApplier.class);

    private final int self;
    private final int peer;
    private final ApplySession session;
    private final VoteSender votes;
    private final BooleanSupplier stopping;
    private final LongSupplier currentGeneration;
    private final LongUnaryOperator recordable;
    private final ForeignFinishes foreign;
    private final PrepareGate gate;
    private final RelationCache relations = new RelationCache();

    private RemoteTransaction txn;
    /**
     * Gids whose coordinator decided abort ({@link #abortDecided}) and whose {@code r} this stream has not read yet:
     * an apply that begins one is abandoned at once. Shared by a {@link ParallelApplier} with its workers.
     */
    private Set<String> abortsDecided = ConcurrentHashMap.newKeySet();
    /** Nanoseconds for the {@link Kind#APPLYING} notes (tests set their own). */
    private LongSupplier clock = System::nanoTime;
    private long finishedLsn;
    private EarlyFinishes early = new EarlyFinishes();
    /** How long a K waits for the early commit of its gid before it runs COMMIT PREPARED itself (busy is waited out). */
    static final long EARLY_WAIT_MS = 10_000;

    /**
     * @param currentGeneration the generation this node is online in; 0 when unknown (no cluster state:
     *                          nothing is refused for its generation), -1 when the node is not online
     *                          (then a transaction that cannot be applied is retried, never voted
     *                          down: its coordinator may not wait for this node and commit it anyway)
     */
    StreamApplier(int self, int peer, ApplySession session, VoteSender votes, BooleanSupplier stopping,
                  LongSupplier currentGeneration) {
        this(self, peer, session, votes, stopping, currentGeneration, LongUnaryOperator.identity(),
                new ForeignFinishes(peer), PrepareGate.OPEN);
    }

    /**
     * @param recordable the progress a unit ending at the given LSN may record with its PREPARE/COMMIT
     *                   (itself when applied serially; the watermark on a parallel worker)
     * @param foreign    the stream's record of finishes that belong to other streams (shared with the
     *                   dispatcher of a {@link ParallelApplier}, which records the prepares it skips)
     * @param gate       admits each PREPARE of an {@code MTM-} gid for its generation ({@link #prepare})
     */
    StreamApplier(int self, int peer, ApplySession session, VoteSender votes, BooleanSupplier stopping,
                  LongSupplier currentGeneration, LongUnaryOperator recordable, ForeignFinishes foreign, PrepareGate gate) {
        this.gate = gate;
        this.recordable = recordable;
        this.foreign = foreign;
        this.self = self;
        this.peer = peer;
        this.session = session;
        this.votes = votes;
        this.stopping = stopping;
        this.currentGeneration = currentGeneration;
    }

    @Override
    public void earlyFinishes(EarlyFinishes finishes) {
        this.early = finishes;
    }

    /**
     * The end LSN of the last unit finished since the previous call (0 when none): everything up to it is
     * durable here or needs nothing here, so the peer's slot may be confirmed to it.
     */
    @Override
    public long takeFinished() {
        long lsn = finishedLsn;
        finishedLsn = 0;
        return lsn;
    }

    @Override
    public int workers() {
        return 1;
    }

    @Override
    public List<ApplySession> sessions() {
        return List.of(session);
    }

    /** The session belongs to the caller, who closes it. */
    @Override
    public void close() {
        txn = null;
    }

    /**
     * Applies one message.
     *
     * @throws SQLException          the apply connection failed, or a transaction that cannot be voted on
     *                               failed: the receiver must reconnect and stream again from the progress
     * @throws IllegalStateException the stream is out of order (same remedy)
     */
    @Override
    public void handle(PgOutputMessage message) throws SQLException {
        switch (message.type()) {
            case 'B' -> {
                Begin b = (Begin) message;
                open(new RemoteTransaction(null, b.finalLsn(), b.xid()));
            }
            case 'b' -> {
                BeginPrepare b = (BeginPrepare) message;
                open(new RemoteTransaction(b.gid(), b.endLsn(), b.xid()));
                refuseOlderGeneration(txn);
            }
            case 'O' -> current(message).fromElsewhere = true;
            case 'R', 'Y' -> {
                relations.accept(message);
                if (message instanceof Relation r && LOG.isDebugEnabled()) {
                    LOG.debug("node {}: relation {} from node {}", self, r, peer);
                } else if (message instanceof Type t && LOG.isDebugEnabled()) {
                    LOG.debug("node {}: type {} from node {}", self, t, peer);
                }
            }
            case 'I', 'U', 'D' -> change(message);
            case 'T' -> truncate((Truncate) message);
            case 'M' -> logicalMessage((LogicalMessage) message);
            case 'C' -> commit((Commit) message);
            case 'P' -> prepare((Prepare) message);
            case 'K' -> commitPrepared((CommitPrepared) message);
            case 'r' -> rollbackPrepared((RollbackPrepared) message);
            default -> throw new IllegalStateException("node " + self + ": unexpected pgoutput message " + message
                    + " from node " + peer + " (streaming of in-progress transactions is not requested)");
        }
    }

    // ---- transactions --------------------------------------------------------------------------------

    private void open(RemoteTransaction t) {
        if (txn != null) {
            throw new IllegalStateException("node " + self + ": stream of node " + peer + " began a transaction inside "
                    + txn.describe());
        }
        txn = t;
    }

    private RemoteTransaction current(PgOutputMessage m) {
        if (txn == null) {
            throw new IllegalStateException("node " + self + ": stream of node " + peer + " sent " + m
                    + " outside a transaction");
        }
        return txn;
    }

    /** {@link ParallelApplier}: the set of decided aborts it shares with its workers (before the first message). */
    void shareAbortsDecided(Set<String> shared) {
        this.abortsDecided = shared;
    }

    @Override
    public void abortDecided(String gid) {
        rememberAbortDecided(abortsDecided, gid);
        session.abandon(gid);
    }

    /** Notes a decided abort until its {@code r} is read; bounded, in case that {@code r} never comes here. */
    static void rememberAbortDecided(Set<String> decided, String gid) {
        if (decided.size() >= 10_000) {
            decided.clear();
        }
        decided.add(gid);
    }

    /** BEGIN here at the first thing that must run (the O message, if any, comes right after the begin). */
    private boolean begun(RemoteTransaction t) throws SQLException {
        if (!t.begun) {
            t.begun = true;
            t.alreadyPrepared = session.begin(t.mtmGid != null ? t.gid : null, t.gid != null ? t.lsn : 0, t.mtmGid != null);
            if (t.mtmGid != null && !t.alreadyPrepared && currentGeneration.getAsLong() >= 0) {
                session.applying(t.gid); // deadlock prevention only while this node's vote counts
                if (abortsDecided.contains(t.gid)) { // after applying(): a decision noted meanwhile marks it itself
                    session.abandon(t.gid);
                }
            }
            if (t.alreadyPrepared) {
                LOG.info("node {}: {} from node {} was applied here already; not applying it again", self, t.gid, peer);
            }
        }
        return !t.alreadyPrepared;
    }

    private void change(PgOutputMessage m) throws SQLException {
        RemoteTransaction t = current(m);
        int relationId = switch (m.type()) {
            case 'I' -> ((Insert) m).relationId();
            case 'U' -> ((Update) m).relationId();
            default -> ((Delete) m).relationId();
        };
        if (t.skipsChanges() && !t.carries(relations.require(relationId))) {
            return;
        }
        if (!runPendingDdl(t)) {
            return;
        }
        Target target = null;
        try {
            // BEGIN inside the try: even its checks may wait for a lock, and that must end in a no-vote too
            if (!begun(t)) {
                return;
            }
            target = session.target(relations.require(relationId));
            if (target == null) {
                return;
            }
            switch (m.type()) {
                case 'I' -> session.insert(target, ((Insert) m).newTuple());
                case 'U' -> session.update(target, (Update) m);
                default -> session.delete(target, (Delete) m);
            }
            stillApplying(t);
        } catch (RowMissingException e) {
            rowMissing(t, e, target);
        } catch (SQLException e) {
            failed(t, e, target == null ? relations.require(relationId).qualifiedName() : target.displayName());
        }
        stopIfAbandoned(t);
    }

    /**
     * Between changes: when the transaction was rolled back on its origin meanwhile (its {@code r} is in the stream,
     * {@link ApplySession#abandon}), its apply stops here — rolled back, the rest of its changes skipped as they come,
     * no PREPARE and no vote — instead of applying rows nobody needs while the stream waits for it. Nothing is
     * cancelled: the check runs on this thread between statements, so it cannot touch another transaction.
     *
     * @return true when it stopped the apply
     */
    private boolean stopIfAbandoned(RemoteTransaction t) throws SQLException {
        if (t.failed || !session.abandoned(t.gid)) {
            return false;
        }
        LOG.debug("node {}: stopped applying {} from node {}: it was rolled back on its origin", self, t.gid, peer);
        t.failed = true;
        session.applying(null);
        session.rollback();
        return true;
    }

    /**
     * A TRUNCATE inside a CREATE TABLE ... AS bracket of only the table created: a node that applied another's
     * statement computed rows of its own and truncated them inside its bracket (the origin's rows follow it). Applied,
     * like those rows, so that a node applying from it ends with the origin's rows alone.
     */
    private boolean carriesAll(RemoteTransaction t, Truncate m) {
        for (int i = 0; i < m.relationCount(); i++) {
            if (!t.carries(relations.require(m.relationId(i)))) {
                return false;
            }
        }
        return m.relationCount() > 0;
    }

    /**
     * Tells the transaction's coordinator, every {@link CommitMessage#APPLYING_NOTE_MS}, that its changes are still
     * being applied here: a large transaction's vote may come later than the coordinator's decision timeout, which
     * each note starts again. A transaction applied within the interval sends nothing.
     */
    private void stillApplying(RemoteTransaction t) {
        if (t.mtmGid == null) {
            return;
        }
        long now = clock.getAsLong();
        if (t.noteDue == 0) {
            t.noteDue = now + TimeUnit.MILLISECONDS.toNanos(CommitMessage.APPLYING_NOTE_MS);
        } else if (now - t.noteDue >= 0) {
            votes.send(t.mtmGid.originNode(), CommitMessage.of(Kind.APPLYING, t.mtmGid));
            t.noteDue = now + TimeUnit.MILLISECONDS.toNanos(CommitMessage.APPLYING_NOTE_MS);
        }
    }

    /** Tests: the clock of the {@link Kind#APPLYING} notes. */
    void clock(LongSupplier nanos) {
        this.clock = nanos;
    }

    private void truncate(Truncate m) throws SQLException {
        RemoteTransaction t = current(m);
        if (t.skipsChanges() && !carriesAll(t, m)) {
            return;
        }
        if (!runPendingDdl(t)) {
            return;
        }
        inTransaction(t, () -> {
            List<Target> targets = new ArrayList<>();
            for (int i = 0; i < m.relationCount(); i++) {
                Target target = session.target(relations.require(m.relationId(i)));
                if (target != null) {
                    targets.add(target);
                }
            }
            if (!targets.isEmpty()) {
                session.truncate(targets, m.restartIdentity(), m.cascade());
            }
        });
    }

    private void logicalMessage(LogicalMessage m) throws SQLException {
        if (!m.transactional()) {
            LOG.debug("node {}: ignoring non-transactional message {} from node {}", self, m.prefix(), peer);
            return;
        }
        RemoteTransaction t = current(m);
        if (ReplicatedDdl.END_PREFIX.equals(m.prefix())) {
            runPendingDdl(t);
            t.ddl.close();
            return;
        }
        if (ReplicatedDdl.LOCAL_PREFIX.equals(m.prefix())) {
            ReplicatedDdl dropped = t.ddl.drop();
            if (dropped != null) {
                LOG.debug("node {}: DDL of {} from node {} is node-local there, not run here: {}", self, t.describe(), peer,
                        dropped.statement());
            }
            return;
        }
        if (ReplicatedDdl.VALUE_PREFIX.equals(m.prefix()) || ReplicatedDdl.CHECK_PREFIX.equals(m.prefix())) {
            if (runPendingDdl(t)) {
                carriedValue(t, m);
            }
            return;
        }
        if (!ReplicatedDdl.PREFIX.equals(m.prefix()) || t.skipsChanges() || t.ddl.isOpen()) {
            return;
        }
        try {
            if (!begun(t)) {
                return;
            }
        } catch (SQLException e) {
            failed(t, e, null);
            return;
        }
        ReplicatedDdl ddl;
        try {
            ddl = ReplicatedDdl.decode(m.content());
        } catch (IllegalArgumentException e) {
            failed(t, new SQLException("undecodable DDL message from node " + peer + ": " + e.getMessage(), "XX000"), null);
            return;
        }
        t.ddl.open(ddl, m.content());
        if (t.ddl.runsAtOnce()) {
            runPendingDdl(t);
        }
    }

    /** Runs the statement of the transaction's DDL bracket if it waits ({@link DdlBracket}); false when it failed here. */
    private boolean runPendingDdl(RemoteTransaction t) throws SQLException {
        return t.ddl.run(session, !t.failed, work -> inTransaction(t, work),
                ddl -> LOG.debug("node {}: applied DDL of {} from node {}: {}", self, t.describe(), peer, ddl.statement()));
    }

    /**
     * Runs {@code work} in the transaction, begun here first; a failure is the transaction's ({@link #failed}).
     *
     * @return false when it is not applied here, failed or was stopped
     */
    private boolean inTransaction(RemoteTransaction t, DdlBracket.Work work) throws SQLException {
        try {
            if (!begun(t)) {
                return false;
            }
            work.run();
        } catch (RowMissingException e) {
            rowMissing(t, e, null);
        } catch (SQLException e) {
            failed(t, e, null);
        }
        return !stopIfAbandoned(t) && !t.failed;
    }

    /**
     * The value the origin gave the rows already there in a column its DDL statement added, or the digest of a table
     * it rewrote: inside the statement's bracket in the origin's WAL, after it in a node's that applied the statement
     * (logged again there, after its end).
     */
    private void carriedValue(RemoteTransaction t, LogicalMessage m) throws SQLException {
        if (t.fromElsewhere || t.alreadyPrepared || t.failed) {
            return;
        }
        inTransaction(t, () -> {
            session.executeCarried(m.prefix(), m.content(), peer, t.gid != null);
            LOG.debug("node {}: applied {} of {} from node {}", self, m.prefix(), t.describe(), peer);
        });
    }

    private void commit(Commit m) throws SQLException {
        RemoteTransaction t = current(m);
        runPendingDdl(t); // a bracket without its end: not written by any gateway, run all the same
        txn = null;
        if (!t.fromElsewhere && t.begun && !t.alreadyPrepared) {
            try {
                session.commit(recordable.applyAsLong(m.endLsn()), m.commitTime());
            } catch (RowMissingException e) {
                // the last batch ran in full; only the missing row is passed over (see rowMissing)
                LOG.warn("node {}: {} from node {}: {}", self, t.describe(), peer, e.getMessage());
                session.commit(recordable.applyAsLong(m.endLsn()), m.commitTime());
            } catch (SQLException e) {
                throw unapplied(t, e, session.failedRelation());
            }
        }
        finished(m.endLsn());
    }

    private void prepare(Prepare m) throws SQLException {
        RemoteTransaction t = current(m);
        runPendingDdl(t);
        txn = null;
        try {
            prepare(m, t);
        } finally {
            session.applying(null);
        }
    }

    private void prepare(Prepare m, RemoteTransaction t) throws SQLException {
        if (t.fromElsewhere) {
            foreign.skippedPrepare(m.xid()); // its K/r in this stream is not ours to run either
            finished(m.endLsn());
            return;
        }
        if (t.failed || stopIfAbandoned(t)) { // rolled back (and voted down, unless abandoned) already
            finished(m.endLsn());
            return;
        }
        try {
            if (begun(t) && !admitted(t, m)) {
                finished(m.endLsn());
                return;
            }
        } catch (GenerationWait e) {
            throw e;
        } catch (SQLException e) {
            failed(t, e, session.failedRelation() != null ? session.failedRelation() : session.currentRelation());
            finished(m.endLsn());
            return;
        }
        if (t.mtmGid != null) {
            CrashPoints.reach(Point.PEER_AFTER_PREPARE, t.mtmGid); // test-only
            votes.send(t.mtmGid.originNode(), CommitMessage.of(Kind.PREPARED, t.mtmGid));
        }
        finished(m.endLsn());
    }

    /**
     * The generation gate (DESIGN §3: a switch excludes concurrent PREPAREs): the PREPARE of an {@code MTM-} gid
     * runs while this node's admission for its generation is open. APPLY: prepared, true. REFUSE (an older
     * generation): rolled back and voted ABORTED (40001), false. WAIT (a generation this node has not adopted
     * yet): rolled back without a vote, and {@link GenerationWait} stops the stream, which is retried shortly.
     * A user's gid has no generation and is prepared as it comes.
     */
    private boolean admitted(RemoteTransaction t, Prepare m) throws SQLException {
        if (t.mtmGid == null) {
            session.prepare(m.gid(), t.lsn, recordable.applyAsLong(m.endLsn()), m.prepareTime());
            return true;
        }
        PrepareAdmission.Verdict verdict;
        long current;
        try (PrepareAdmission admission = gate.admit(t.mtmGid.generation())) {
            verdict = admission.verdict();
            current = admission.generation();
            if (verdict == PrepareAdmission.Verdict.APPLY) {
                session.prepare(m.gid(), t.lsn, recordable.applyAsLong(m.endLsn()), m.prepareTime());
                LOG.debug("node {}: prepared {} from node {} in generation {}", self, m.gid(), peer, current);
                return true;
            }
        }
        session.rollback();
        t.failed = true;
        if (verdict == PrepareAdmission.Verdict.WAIT) {
            throw new GenerationWait("node " + self + " has not adopted generation " + t.mtmGid.generation() + " of "
                    + t.gid + " from node " + peer + " yet (it is in generation " + current + "); streaming it again shortly");
        }
        String message = "[multimaster] node " + self + " refused transaction " + t.gid + ": it was prepared in generation "
                + t.mtmGid.generation() + " but node " + self + " is in generation " + current + "; retry";
        LOG.info("node {}: voting ABORTED for {} from node {}: {}", self, t.gid, peer, message);
        votes.send(t.mtmGid.originNode(), CommitMessage.abortedVote(t.mtmGid, ApplyFailure.SERIALIZATION_FAILURE, message));
        return false;
    }

    private void commitPrepared(CommitPrepared m) throws SQLException {
        outsideTransaction(m);
        if (foreign.skip(m.xid(), m.gid())) {
            LOG.debug("node {}: COMMIT PREPARED {} from node {}: applied here from its origin's stream, which finishes it",
                    self, m.gid(), peer);
            finished(m.endLsn());
            return;
        }
        if (committedEarly(m.gid())) {
            LOG.debug("node {}: COMMIT PREPARED {} from node {}: committed already at its coordinator's decision", self, m.gid(), peer);
            finished(m.endLsn());
            return;
        }
        CrashPoints.reach(Point.PEER_BEFORE_COMMIT_PREPARED, m.gid()); // test-only
        boolean done = session.commitPrepared(m.gid(), recordable.applyAsLong(m.endLsn()), m.commitTime());
        if (done) CrashPoints.reach(Point.PEER_AFTER_COMMIT_PREPARED, m.gid()); // test-only
        LOG.debug("node {}: COMMIT PREPARED {} from node {}: {}", self, m.gid(), peer, done ? "committed" : "not prepared here");
        Gid gid = Gid.tryParse(m.gid());
        if (done && gid != null) {
            votes.send(gid.originNode(), CommitMessage.of(Kind.COMMITTED, gid));
        }
        finished(m.endLsn());
    }

    /**
     * True when the {@link EarlyCommitter} committed {@code gid} here at its coordinator's decision (waited for while it
     * runs, so nothing after this K is applied before it); false when this K must run COMMIT PREPARED itself.
     */
    private boolean committedEarly(String gid) throws SQLException {
        if (!Gid.isReserved(gid)) {
            return false; // a user's own two-phase transaction: no coordinator decides it
        }
        java.util.concurrent.CompletableFuture<Boolean> claim = early.claimStream(gid, System.nanoTime());
        if (claim == null) {
            return false;
        }
        try {
            return claim.get(EARLY_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            return false; // finished below, waiting out a COMMIT PREPARED still running
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while the early commit of " + gid + " ran", "57014", e);
        }
    }

    private void rollbackPrepared(RollbackPrepared m) throws SQLException {
        outsideTransaction(m);
        abortsDecided.remove(m.gid());
        if (foreign.skip(m.xid(), m.gid())) {
            LOG.debug("node {}: ROLLBACK PREPARED {} from node {}: applied here from its origin's stream, which finishes it",
                    self, m.gid(), peer);
            finished(m.rollbackEndLsn());
            return;
        }
        boolean done = session.rollbackPrepared(m.gid(), recordable.applyAsLong(m.rollbackEndLsn()),
                m.rollbackTime());
        LOG.debug("node {}: ROLLBACK PREPARED {} from node {}: {}", self, m.gid(), peer,
                done ? "rolled back" : "not prepared here");
        finished(m.rollbackEndLsn());
    }

    private void outsideTransaction(PgOutputMessage m) {
        if (txn != null) {
            throw new IllegalStateException("node " + self + ": stream of node " + peer + " sent " + m + " inside "
                    + txn.describe());
        }
    }

    private void finished(long endLsn) {
        finishedLsn = Math.max(finishedLsn, endLsn);
    }

    /**
     * A PREPARE stamped with an older generation than this node's is refused (DESIGN: a generation switch
     * excludes concurrent PREPAREs; the transaction may miss members of the new generation).
     */
    private void refuseOlderGeneration(RemoteTransaction t) {
        long current = currentGeneration.getAsLong();
        if (t.mtmGid == null || current <= 0 || t.mtmGid.generation() >= current) {
            return;
        }
        t.failed = true;
        String message = "[multimaster] node " + self + " refused transaction " + t.gid + ": it was prepared in generation "
                + t.mtmGid.generation() + " but node " + self + " is in generation " + current + "; retry";
        LOG.info("node {}: voting ABORTED for {} from node {}: {}", self, t.gid, peer, message);
        votes.send(t.mtmGid.originNode(), CommitMessage.abortedVote(t.mtmGid, ApplyFailure.SERIALIZATION_FAILURE, message));
    }

    // ---- failures ------------------------------------------------------------------------------------

    /**
     * The transaction cannot be applied here. An {@code MTM-} transaction is rolled back and voted down at
     * once (the coordinator can abort everywhere without waiting for the PREPARE); the rest of it is
     * skipped. Anything else — connection lost, receiver stopping, a transaction without a coordinator —
     * is thrown to the receiver.
     */
    private void failed(RemoteTransaction t, SQLException e, String relation) throws SQLException {
        if (session.failedRelation() != null) {
            relation = session.failedRelation(); // the wait was in the batch of an earlier statement
        }
        // a cancellation not from the receiver itself (closing, stopping) comes from deadlock prevention or the
        // rollback of a transaction still applying: a conflict, never a reason to restart the stream
        boolean cancelled = "57014".equals(e.getSQLState()) && !stopping.getAsBoolean() && !session.closing();
        if (cancelled && session.abandoned(t.gid)) {
            // rolled back on its origin meanwhile (its r is in the stream): nothing to vote on any more
            stopIfAbandoned(t);
            return;
        }
        String holder = t.gid == null ? null : session.cancelledFor(t.gid);
        boolean inCycle = t.gid != null && session.cancelledInCycle(t.gid); // read before applying(null) below
        if (!cancelled && (ApplyFailure.lostConnection(e) || stopping.getAsBoolean())) {
            throw e;
        }
        if (t.mtmGid == null) {
            throw unapplied(t, e, relation);
        }
        if (currentGeneration.getAsLong() < 0) {
            // not online: the coordinator does not count on this node, so a no-vote would not stop a commit
            // that this node then misses; apply it again instead (the receiver reconnects after a backoff)
            throw e;
        }
        session.applying(null);
        session.rollback();
        session.forgetTargets(); // a statement may have failed on a stale local type name: look them up again
        t.failed = true;
        ApplyFailure f = holder != null ? ApplyFailure.conflict(self, t.gid, relation, holder, inCycle)
                : cancelled ? ApplyFailure.conflict(self, t.gid, relation, null)
                : ApplyFailure.of(e, self, t.gid, relation, session.lockTimeoutMs(), session.serverVersion());
        if (f.sqlState().startsWith("40")) {
            LOG.debug("node {}: voting ABORTED for {}: {}", self, t.gid, f.message());
        } else {
            LOG.info("node {}: voting ABORTED for {} from node {}: {} (SQLSTATE {})", self, t.gid, peer, f.message(),
                    f.sqlState());
        }
        votes.send(t.mtmGid.originNode(), f.vote(t.mtmGid));
    }

    /**
     * A transaction that cannot be voted down (plain, or a user's own gid) failed: the receiver must apply it
     * again from the durable progress. The error keeps its SQLSTATE and names the transaction and relation.
     */
    private SQLException unapplied(RemoteTransaction t, SQLException e, String relation) {
        if (ApplyFailure.lostConnection(e)) {
            return e;
        }
        String message = "node " + self + " could not apply " + t.describe() + " of node " + peer
                + (relation == null ? "" : " on relation " + relation) + ", which cannot be voted down and is applied"
                + " again: " + (e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse(""));
        return new UnappliedException(message, e);
    }

    private void rowMissing(RemoteTransaction t, RowMissingException e, Target target) throws SQLException {
        if (t.gid == null) {
            LOG.warn("node {}: {} from node {}: {}; passing over it", self, t.describe(), peer, e.getMessage());
            return;
        }
        failed(t, e, target == null ? session.currentRelation() : target.displayName());
    }

    /** The transaction being received: plain ({@code gid == null}) or two-phase. */
    private static final class RemoteTransaction {
        final String gid;
        final Gid mtmGid;
        final long lsn;
        boolean fromElsewhere;
        boolean begun;
        /** When the next {@link Kind#APPLYING} note is due ({@link System#nanoTime}); 0 before the first change. */
        long noteDue;
        boolean alreadyPrepared;
        boolean failed;
        final DdlBracket ddl = new DdlBracket();

        /** The transaction's id on the origin: names a plain transaction there (pg_waldump, the origin's logs). */
        final long xid;

        RemoteTransaction(String gid, long lsn, long xid) {
            this.xid = xid;
            this.gid = gid;
            this.mtmGid = gid == null ? null : Gid.tryParse(gid);
            this.lsn = lsn;
        }

        boolean skipsChanges() {
            return fromElsewhere || alreadyPrepared || failed || ddl.skipsRows();
        }

        /** A change inside a DDL statement's bracket that is applied all the same: a row of the table it created. */
        boolean carries(Relation r) {
            return !fromElsewhere && !alreadyPrepared && !failed && ddl.carries(r);
        }

        String describe() {
            return gid != null ? "transaction " + gid
                    : "transaction " + xid + " committed at " + org.mtm.applier.internal.pgoutput.Lsn.format(lsn);
        }
    }
}
