package org.mtm.applier.internal;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.mtm.api.GenerationMarker;
import org.mtm.api.Gid;
import org.mtm.api.ReplicatedDdl;
import org.mtm.applier.internal.pgoutput.Lsn;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Begin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Column;
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
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Update;
import org.mtm.applier.internal.pgoutput.RelationCache;
import org.mtm.applier.internal.pgoutput.TupleData;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a donor's stream during recovery (DESIGN §3, {@link org.mtm.api.ReplicationPlan.Mode#RECOVERY}):
 * every transaction in the donor's WAL — the donor's own and those it applied from other origins — serially, in
 * the donor's order, which is the order in which they committed on the cluster. Streams of separate origins,
 * applied independently, may deliver two conflicting transactions in the other order; only one node's WAL holds
 * them in the cluster's order. Nothing is voted on: this node is not a member the coordinators wait for.
 *
 * <h2>Units</h2>
 * <ul>
 * <li>The donor's own (no {@code O} message): as in normal mode — PREPARE with the same gid and an
 *     {@code mtm.applied_xacts} row (donor, end of its PREPARE in the donor's stream), {@code K} → COMMIT PREPARED,
 *     {@code r} → ROLLBACK PREPARED, a plain one → COMMIT.</li>
 * <li>Another origin o's, which the donor applied ({@code O} naming {@code mtm_node_<o>} or one of its worker
 *     origins {@code mtm_node_<o>_<k>}): o = this node is our own transaction, skipped. A two-phase one is
 *     skipped when its gid is prepared here or logged in {@code mtm.applied_xacts}, or when the row the donor
 *     logged inside it — (o, L, gid), L the end of its PREPARE in o's stream — has L at or below this node's
 *     progress of o's stream or is logged here. That row comes last (just before the PREPARE), so the
 *     transaction is applied tentatively and the decision taken at its {@code P}: skipped → rolled back (a
 *     failure of the tentative apply then does not matter); applied → PREPAREd under the session's origin
 *     {@code mtm_node_<donor>} with the donor's stream position as progress, logged as (o, L, gid) — the
 *     origin's own stream, in normal mode later, finds it applied. o's progress is not moved. A plain one (no
 *     gid: a bypass of the gateway) is skipped when its origin LSN (from the {@code O}) is at or below o's
 *     progress here or logged; else applied, logged as (o, origin LSN, '') inside it, and o's progress advanced
 *     to that LSN after its commit (see {@link ApplySession#advanceOriginsToLoggedPlain} for the crash in
 *     between).</li>
 * <li>{@code K}/{@code r} of any gid: COMMIT/ROLLBACK PREPARED if prepared here (the donor's stream carries
 *     the finishes of what it applied from others, without {@code O}).</li>
 * <li>A donor's own unit with a {@value GenerationMarker#PREFIX} message: the donor's marker. Its generation is
 *     recorded; one at or above {@code untilGeneration} ends the recovery: {@link #reached()} turns true, the
 *     unit is not confirmed (a restarted recovery under the same plan reads it again and ends there too).</li>
 * </ul>
 * DDL ({@code mtm.ddl} … {@code mtm.ddl_end}) is executed and logged again as in normal mode; the rows in
 * between are not applied.
 *
 * <h2>Failures</h2>
 * There is no vote to give: any failure of a unit that must be applied rolls it back and is thrown, the receiver
 * stops the stream and streams again from the durable progress of {@code mtm_node_<donor>} after a backoff.
 * Nothing is skipped silently — except, as in normal mode, an UPDATE/DELETE of a plain transaction that finds no
 * row (logged).
 *
 * <h2>Exactly once</h2>
 * Serial apply records the donor stream's exact position with every PREPARE, COMMIT PREPARED, ROLLBACK PREPARED
 * and COMMIT, so a restart resumes right after the last finished unit; what the donor stream brings again, or a
 * new donor's stream brings (a donor that died: its own units are the new donor's foreign ones, logged with the
 * same L), is recognised by the rules above.
 *
 * <h2>One-phase, asynchronous apply ({@code enable_async_3pc_on_catchup})</h2>
 * Both two-phase records are always flushed to disk, which bounds a serial catch-up to a few dozen transactions a
 * second. With the switch on, a two-phase unit is not prepared at its {@code P}: its messages are buffered, in
 * order, and at its {@code K} replayed through the same rules as above and committed as one plain transaction
 * (same {@code mtm.applied_xacts} row, the donor stream's position of its {@code K} as progress); an {@code r}
 * drops the buffer. This reorders only units that cannot conflict: one prepared between this unit's {@code P} and
 * {@code K} on the donor could not take this unit's row locks, which the donor held from P to K. A unit that carries
 * a marker is prepared at its {@code P} as before. Units still buffered when the plan's marker is reached, or when
 * the recovery stops, are prepared in stream order ({@link #prepareBuffered()}), and the normal streams finish them.
 *
 * <p>The session commits with {@code synchronous_commit = off}; every {@value #SYNC_INTERVAL_MS} ms, and before the
 * marker is reported reached, a {@link ApplySession#syncPoint() sync point} makes everything committed so far
 * durable. The donor's slot is confirmed ({@link #confirmable()}) only up to units behind the last sync point, and
 * never at or past the {@code P} of the first unit still buffered: recovery streams again from the slot's confirmed
 * position, so whatever a crash lost, or a stop left unapplied, comes again.
 *
 * <h2>Parallel one-phase apply</h2>
 * With one-phase apply and more than one worker, a unit is handed at its {@code K} to {@link RecoveryWorkers}, which
 * applies it on a session of its own once every unit that ended in the donor's stream before the unit's PREPARE is
 * finished here (units whose PREPARE-to-K windows overlapped on the donor held their locks at the same time and cannot
 * conflict). Everything else stays on the receiver's thread, which first waits for every unit handed out whenever it
 * begins to apply something itself (a plain unit, a marker, the units prepared at the end), so those keep their
 * place in the donor's order. Units finish out of order, so {@link Progress} keeps the watermark: it is what is
 * confirmed to the donor's slot and the only progress any commit here records for the donor (normal mode resumes
 * after the highest progress of the donor's origins, and must not pass over a unit still running).
 *
 * <p>Not thread-safe: one receiver thread drives it (each worker drives an applier of its own).
 */
final class RecoveryApplier implements MessageApplier {
    private static final Logger LOG = LoggerFactory.getLogger(RecoveryApplier.class);
    private static final String ORIGIN_PREFIX = "mtm_node_";
    /** Longest time between sync points while something committed asynchronously is not durable yet. */
    static final long SYNC_INTERVAL_MS = 500;

    private final int self;
    private final int donor;
    private final long untilGeneration;
    private final ApplySession session;
    private final BooleanSupplier stopping;
    private final RelationCache relations = new RelationCache();
    private final boolean onePhase;
    /** Two-phase units read up to their P and waiting for their K, by gid, in the order of their PREPAREs. */
    private final Map<String, Buffered> buffered = new LinkedHashMap<>();
    /** Two-phase units this recovery passed over as applied here, until their K or r. */
    private final java.util.Set<String> skippedHere = new java.util.HashSet<>();
    /** The two-phase unit being read into a buffer (its P not read yet). */
    private Buffered filling;
    /** While a buffered unit is replayed: its relations as they were described when it was read. */
    private Map<Integer, Relation> replayRelations;
    /** The end of the last unit finished here (committed, possibly not durable yet). */
    private long finishedUpTo;
    /** {@link #finishedUpTo} as of the last sync point: durable here. */
    private long durableUpTo;
    private long lastSyncNanos = System.nanoTime();
    /**
     * This node's progress of other origins' streams, read once per origin: while recovery runs no receiver of
     * theirs does, so only {@link #advanceOrigin} moves it (a round trip saved per foreign unit).
     */
    private final Map<Integer, Long> originProgress = new HashMap<>();

    /** Tests only: told "P <gid>", "K <gid>" or "C <lsn>" right after each unit this applier finished here. */
    static volatile java.util.function.Consumer<String> afterUnit;
    /** Tests only: told "K <gid>" right before a buffered unit is applied at its K. */
    static volatile java.util.function.Consumer<String> beforeUnit;

    /** Parallel one-phase apply (null: serial). */
    private final RecoveryWorkers workers;
    /** The units' progress when {@link #workers} apply (null: serial, where units finish in order). */
    private final Progress progress;
    /** The donor stream position a commit here may record as progress for a unit ending at the given position. */
    private final java.util.function.LongUnaryOperator recordable;

    private Unit unit;
    private long finishedLsn;
    private volatile long markerGeneration;
    private volatile boolean reached;

    RecoveryApplier(int self, int donor, long untilGeneration, ApplySession session, BooleanSupplier stopping) {
        this(self, donor, untilGeneration, session, stopping, false);
    }

    /**
     * @param onePhase {@code enable_async_3pc_on_catchup}: committed two-phase units are applied as one asynchronously
     *                 committed transaction at their K; the caller has set the session to commit asynchronously
     */
    RecoveryApplier(int self, int donor, long untilGeneration, ApplySession session, BooleanSupplier stopping,
                    boolean onePhase) {
        this(self, donor, untilGeneration, session, stopping, onePhase, 1, null);
    }

    /**
     * @param workerCount with one-phase apply, more than 1 applies committed units in parallel on that many sessions
     *                    of their own, opened by {@code workerSessions} (see "Parallel one-phase apply")
     */
    RecoveryApplier(int self, int donor, long untilGeneration, ApplySession session, BooleanSupplier stopping,
                    boolean onePhase, int workerCount, RecoveryWorkers.Sessions workerSessions) {
        this.onePhase = onePhase;
        this.self = self;
        this.donor = donor;
        this.untilGeneration = untilGeneration;
        this.session = session;
        this.stopping = stopping;
        if (onePhase && workerCount > 1) {
            this.progress = new Progress(0);
            this.recordable = progress::recordable;
            this.workers = new RecoveryWorkers(self, donor, workerCount, progress, workerSessions,
                    s -> new RecoveryApplier(self, donor, untilGeneration, s, stopping, progress));
        } else {
            this.progress = null;
            this.recordable = java.util.function.LongUnaryOperator.identity();
            this.workers = null;
        }
    }

    /** A worker's applier: applies the units {@link RecoveryWorkers} hands it, recording only what {@code shared} allows. */
    private RecoveryApplier(int self, int donor, long untilGeneration, ApplySession session, BooleanSupplier stopping,
                            Progress shared) {
        this.onePhase = true;
        this.self = self;
        this.donor = donor;
        this.untilGeneration = untilGeneration;
        this.session = session;
        this.stopping = stopping;
        this.progress = null;
        this.recordable = shared::recordable;
        this.workers = null;
    }

    /** The number of sessions applying: 1, or the receiver's and its workers'. */
    int applyingSessions() {
        return workers == null ? 1 : 1 + workers.count();
    }

    /** The highest generation marker of the donor applied so far (0: none). */
    long markerGeneration() {
        return markerGeneration;
    }

    /** True once the marker of {@code untilGeneration} or later was read: nothing more is to be applied. */
    boolean reached() {
        return reached;
    }

    /** True while a unit is open (its end not read yet). */
    boolean inUnit() {
        return unit != null || filling != null;
    }

    /**
     * How far the donor's slot may be confirmed: the end of the last unit finished here and durable (all of them,
     * without one-phase apply), but before the P of the first unit still buffered. 0: nothing yet.
     */
    long confirmable() {
        if (!onePhase) {
            return finishedUpTo;
        }
        long upTo = durableUpTo;
        Iterator<Buffered> first = buffered.values().iterator();
        // (parallel: durableUpTo is a watermark, and a unit handed out is no longer buffered)
        if (first.hasNext()) {
            upTo = Math.min(upTo, first.next().begin.prepareLsn() - 1);
        }
        return Math.max(0, upTo);
    }

    /** A sync point when one is due: something was committed asynchronously since the last one, at least {@value #SYNC_INTERVAL_MS} ms ago. */
    void syncIfDue() throws SQLException {
        checkWorkers();
        if (onePhase && unit == null && finishedUpTo() > durableUpTo
                && System.nanoTime() - lastSyncNanos >= java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(SYNC_INTERVAL_MS)) {
            syncPoint();
        }
    }

    /** Makes everything finished here so far durable (outside a unit). */
    void syncPoint() throws SQLException {
        if (!onePhase || unit != null) {
            return;
        }
        long upTo = finishedUpTo(); // committed before the sync point's commit: durable with it
        session.syncPoint();
        durableUpTo = Math.max(durableUpTo, upTo);
        lastSyncNanos = System.nanoTime();
    }

    /**
     * Prepares every unit still buffered, in stream order, as without one-phase apply (BEGIN, its changes,
     * PREPARE TRANSACTION with its gid): the normal streams finish them with their K. For the plan's marker and for
     * a recovery that stops; what this does not reach is streamed again (it is never confirmed).
     */
    void prepareBuffered() throws SQLException {
        awaitWorkers(); // the units handed out come first in the donor's order, and nothing may run after a marker
        filling = null;
        if (unit != null) {
            rollbackQuietly();
            unit = null;
        }
        while (!buffered.isEmpty()) {
            Iterator<Buffered> first = buffered.values().iterator();
            Buffered b = first.next();
            replay(b, null);
            first.remove();
        }
    }

    @Override
    public long takeFinished() {
        if (progress != null) {
            return progress.watermark();
        }
        long lsn = finishedLsn;
        finishedLsn = 0;
        return lsn;
    }

    /** Recovery applies what its donor committed, and votes on nothing: an abort decision changes nothing here. */
    @Override
    public void abortDecided(String gid) {
    }

    @Override
    public List<ApplySession> sessions() {
        if (workers == null) {
            return List.of(session);
        }
        List<ApplySession> all = new ArrayList<>(workers.sessions());
        all.add(0, session);
        return all;
    }

    @Override
    public void checkFailure() throws Exception {
        if (progress != null) {
            progress.checkFailure();
        }
    }

    /** Throws a worker's failure as it is (SQLException, or unchecked such as {@link WalGone}). */
    private void checkWorkers() throws SQLException {
        if (progress != null) {
            withWorkers(progress::checkFailure);
        }
    }

    /** Waits until every unit handed to the workers is finished (throws a worker's failure). */
    private void awaitWorkers() throws SQLException {
        if (progress != null) {
            withWorkers(progress::awaitAll);
        }
    }

    /** Something that involves the workers and may throw their failure. */
    private interface WorkerCall {
        void run() throws Exception;
    }

    /** Runs {@code call}; a worker's failure comes out as it is (SQLException or unchecked), anything else as XX000. */
    private void withWorkers(WorkerCall call) throws SQLException {
        try {
            call.run();
        } catch (SQLException | RuntimeException e) {
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while waiting for the recovery workers of donor " + donor, "57014", e);
        } catch (Exception e) {
            throw new SQLException("recovery worker of donor " + donor + " failed: " + e, "XX000", e);
        }
    }

    /** The end of the last unit finished here (parallel: every unit up to it is). */
    private long finishedUpTo() {
        return progress != null ? progress.watermark() : finishedUpTo;
    }

    @Override
    public int workers() {
        return 1;
    }

    @Override
    public void close() {
        if (workers != null) {
            workers.close();
        }
        unit = null;
        filling = null;
        buffered.clear();
    }

    @Override
    public void handle(PgOutputMessage m) throws SQLException {
        checkWorkers();
        if (reached) {
            return; // the stream may still bring what followed the marker before it is stopped
        }
        if (filling != null) {
            fill(m);
            return;
        }
        switch (m.type()) {
            case 'B' -> open(new Unit(null, ((Begin) m).finalLsn()));
            case 'b' -> {
                if (onePhase) {
                    if (unit != null) {
                        throw new IllegalStateException("node " + self + ": recovery stream of donor " + donor
                                + " began a transaction inside " + unit.describe());
                    }
                    filling = new Buffered((BeginPrepare) m);
                } else {
                    open(new Unit(((BeginPrepare) m).gid(), ((BeginPrepare) m).endLsn()));
                }
            }
            case 'R', 'Y' -> relations.accept(m);
            case 'O', 'I', 'U', 'D', 'T', 'M' -> body(m);
            case 'C' -> commit((Commit) m);
            case 'P' -> prepare((Prepare) m);
            case 'K' -> finishPrepared(m, ((CommitPrepared) m).gid(), ((CommitPrepared) m).endLsn(),
                    ((CommitPrepared) m).commitTime(), true);
            case 'r' -> finishPrepared(m, ((RollbackPrepared) m).gid(), ((RollbackPrepared) m).rollbackEndLsn(),
                    ((RollbackPrepared) m).rollbackTime(), false);
            default -> throw new IllegalStateException("node " + self + ": unexpected pgoutput message " + m
                    + " in the recovery stream of donor " + donor);
        }
    }

    /** A message of a unit's body, applied to the open unit. */
    private void body(PgOutputMessage m) throws SQLException {
        switch (m.type()) {
            case 'O' -> origin((Origin) m);
            case 'I', 'U', 'D' -> change(m);
            case 'T' -> truncate((Truncate) m);
            default -> logicalMessage((LogicalMessage) m);
        }
    }

    // ---- one-phase apply of two-phase units -----------------------------------------------------------

    /** A message of the two-phase unit being buffered. */
    private void fill(PgOutputMessage m) throws SQLException {
        Buffered b = filling;
        switch (m.type()) {
            case 'R', 'Y' -> relations.accept(m);
            case 'I', 'U', 'D' -> {
                int id = switch (m.type()) {
                    case 'I' -> ((Insert) m).relationId();
                    case 'U' -> ((Update) m).relationId();
                    default -> ((Delete) m).relationId();
                };
                b.relations.putIfAbsent(id, relations.require(id));
                b.messages.add(m);
            }
            case 'T' -> {
                Truncate t = (Truncate) m;
                for (int i = 0; i < t.relationCount(); i++) {
                    b.relations.putIfAbsent(t.relationId(i), relations.require(t.relationId(i)));
                }
                b.messages.add(m);
            }
            case 'O' -> b.messages.add(m);
            case 'M' -> {
                LogicalMessage lm = (LogicalMessage) m;
                if (lm.transactional()) {
                    b.messages.add(m);
                    b.marker |= GenerationMarker.PREFIX.equals(lm.prefix());
                }
            }
            case 'P' -> {
                filling = null;
                b.prepare = (Prepare) m;
                if (b.marker) {
                    replay(b, null); // a marker is applied where it lies: prepared now, as without one-phase apply
                } else if (buffered.putIfAbsent(b.begin.gid(), b) != null) {
                    throw new IllegalStateException("node " + self + ": recovery stream of donor " + donor
                            + " prepared transaction " + b.begin.gid() + " again before finishing it");
                }
            }
            default -> throw new IllegalStateException("node " + self + ": recovery stream of donor " + donor + " sent " + m
                    + " inside transaction " + b.begin.gid());
        }
    }

    /**
     * Applies a buffered unit through the rules of a streamed one: at its K ({@code k} not null) as one plain
     * transaction, returning false when it was not applied here now (skipped, or found applied or prepared here,
     * which the K then finishes as without one-phase apply); else prepared (true).
     */
    private boolean replay(Buffered b, CommitPrepared k) throws SQLException {
        open(new Unit(b.begin.gid(), b.begin.endLsn()));
        replayRelations = b.relations;
        try {
            for (PgOutputMessage m : b.messages) {
                body(m);
            }
        } finally {
            replayRelations = null;
        }
        if (k == null) {
            prepare(b.prepare);
            return true;
        }
        return commitOnePhase(b.prepare, k);
    }

    private boolean commitOnePhase(Prepare p, CommitPrepared k) throws SQLException {
        Unit u = current(p);
        unit = null;
        if (skipAtPrepare(u)) {
            rollbackIfOpen(u);
            LOG.debug("node {}: {} in donor {}'s stream: applied here already", self, u.describe(), donor);
            return false;
        }
        if (u.failure != null) {
            throw unapplied(u, u.failure);
        }
        try {
            if (!begun(u)) {
                return false; // applied or prepared here: the K finishes it as without one-phase apply
            }
            if (u.foreign()) {
                session.commitOnePhase(u.loggedOrigin, p.gid(), u.loggedLsn, recordable.applyAsLong(k.endLsn()), k.commitTime());
            } else {
                session.commitOnePhase(donor, p.gid(), u.lsn, recordable.applyAsLong(k.endLsn()), k.commitTime());
            }
        } catch (SQLException e) {
            rollbackQuietly();
            throw unapplied(u, e);
        }
        LOG.debug("node {}: committed {} from donor {} in one phase", self, p.gid(), donor);
        return true;
    }

    private long originProgress(int origin) throws SQLException {
        Long known = originProgress.get(origin);
        if (known == null) {
            known = session.originProgress(origin);
            originProgress.put(origin, known);
        }
        return known;
    }

    private void advanceOrigin(int origin, long lsn) throws SQLException {
        session.advanceOrigin(origin, lsn);
        originProgress.merge(origin, lsn, Math::max);
    }

    private Relation relation(int relationId) {
        Relation r = replayRelations == null ? null : replayRelations.get(relationId);
        return r != null ? r : relations.require(relationId);
    }

    // ---- units ---------------------------------------------------------------------------------------

    private void open(Unit u) {
        if (unit != null) {
            throw new IllegalStateException("node " + self + ": recovery stream of donor " + donor
                    + " began a transaction inside " + unit.describe());
        }
        unit = u;
    }

    private Unit current(PgOutputMessage m) {
        if (unit == null) {
            throw new IllegalStateException("node " + self + ": recovery stream of donor " + donor + " sent " + m
                    + " outside a transaction");
        }
        return unit;
    }

    private void origin(Origin o) throws SQLException {
        Unit u = current(o);
        int origin = originNode(o.name());
        if (origin == 0) {
            LOG.warn("node {}: {} in donor {}'s stream has origin '{}', which is not a node's; applying it as the donor's",
                    self, u.describe(), donor, o.name());
            return;
        }
        u.origin = origin;
        u.originLsn = o.originLsn();
        if (origin == self) {
            u.skip = true; // our own transaction, which the donor applied from us
        } else if (u.gid == null && (o.originLsn() <= originProgress(origin) || session.logged(origin, o.originLsn()))) {
            u.skip = true; // a plain transaction of another origin, applied here already
        }
    }

    /** BEGIN at the first thing to apply; false when the unit turned out applied here already. */
    private boolean begun(Unit u) throws SQLException {
        if (!u.begun) {
            awaitWorkers(); // the receiver's thread applies in the donor's order: after every unit handed out
            u.begun = true;
            if (!u.foreign() && u.gid == null && u.lsn <= session.originProgress()) {
                // the donor's own plain transaction, committed here already with its progress: recovery streams from
                // the slot's confirmed position, which may be below this node's progress of the donor
                u.skip = true;
                u.alreadyApplied = true;
                return false;
            }
            Gid mtm = u.gid == null ? null : Gid.tryParse(u.gid);
            u.checkedByGid = mtm != null;
            boolean applied = u.foreign()
                    ? session.begin(mtm != null ? u.gid : null, true, u.origin, 0, false)
                    // the donor's own gid prepared here (also a user's: a buffered one prepared when a recovery stopped)
                    : session.begin(u.gid, mtm != null, donor, u.gid != null ? u.lsn : 0, false);
            if (applied) {
                LOG.debug("node {}: {} in donor {}'s stream was applied here already", self, u.describe(), donor);
                u.skip = true;
                u.alreadyApplied = true;
            }
        }
        return !u.skip;
    }

    private void change(PgOutputMessage m) throws SQLException {
        Unit u = current(m);
        int relationId = switch (m.type()) {
            case 'I' -> ((Insert) m).relationId();
            case 'U' -> ((Update) m).relationId();
            default -> ((Delete) m).relationId();
        };
        Relation relation = relation(relationId);
        if (m instanceof Insert i && u.foreign() && u.gid != null && isAppliedLog(relation)) {
            loggedByDonor(u, relation, i.newTuple());
            return;
        }
        if ((u.skipsChanges() && !u.carries(relation)) || ApplySession.nodeLocal(relation)) {
            return;
        }
        if (!runPendingDdl(u)) {
            return;
        }
        try {
            if (!begun(u)) {
                return;
            }
            Target target = session.target(relation);
            if (target == null) {
                return;
            }
            switch (m.type()) {
                case 'I' -> session.insert(target, ((Insert) m).newTuple());
                case 'U' -> session.update(target, (Update) m);
                default -> session.delete(target, (Delete) m);
            }
        } catch (RowMissingException e) {
            rowMissing(u, e);
        } catch (SQLException e) {
            failed(u, e);
        }
    }

    /**
     * A TRUNCATE inside a CREATE TABLE ... AS bracket of only the table created: a node that applied another's
     * statement computed rows of its own and truncated them inside its bracket (the origin's rows follow it). Applied,
     * like those rows, so that the node recovering from it ends with the origin's rows alone.
     */
    private boolean carriesAll(Unit u, Truncate m) {
        for (int i = 0; i < m.relationCount(); i++) {
            if (!u.carries(relation(m.relationId(i)))) {
                return false;
            }
        }
        return m.relationCount() > 0;
    }

    private void truncate(Truncate m) throws SQLException {
        Unit u = current(m);
        if (u.skipsChanges() && !carriesAll(u, m)) {
            return;
        }
        if (!runPendingDdl(u)) {
            return;
        }
        try {
            List<Target> targets = new java.util.ArrayList<>();
            for (int i = 0; i < m.relationCount(); i++) {
                Relation r = relation(m.relationId(i));
                if (!ApplySession.nodeLocal(r)) {
                    if (!begun(u)) {
                        return;
                    }
                    Target t = session.target(r);
                    if (t != null) {
                        targets.add(t);
                    }
                }
            }
            if (!targets.isEmpty()) {
                session.truncate(targets, m.restartIdentity(), m.cascade());
            }
        } catch (RowMissingException e) {
            rowMissing(u, e);
        } catch (SQLException e) {
            failed(u, e);
        }
    }

    private void logicalMessage(LogicalMessage m) throws SQLException {
        if (!m.transactional()) {
            return;
        }
        Unit u = current(m);
        u.carriedRows = false;
        if (GenerationMarker.PREFIX.equals(m.prefix())) {
            if (!u.foreign() && u.origin == 0) {
                u.marker = GenerationMarker.parse(m.content());
            }
            return;
        }
        if (ReplicatedDdl.END_PREFIX.equals(m.prefix())) {
            runPendingDdl(u);
            u.ddl.close();
            return;
        }
        if (ReplicatedDdl.LOCAL_PREFIX.equals(m.prefix())) {
            u.ddl.drop(); // node-local on its origin
            return;
        }
        if (ReplicatedDdl.VALUE_PREFIX.equals(m.prefix()) || ReplicatedDdl.CHECK_PREFIX.equals(m.prefix())) {
            // the values the origin gave the rows already there in columns its DDL statement added, the digest of a
            // table it rewrote (StreamApplier)
            if (runPendingDdl(u) && !u.skip && u.failure == null) {
                inTransaction(u, () -> session.executeCarried(m.prefix(), m.content(), u.origin == 0 ? donor : u.origin, false));
                // the donor ran those values' UPDATE as this node just did: its row changes follow, up to the donor's
                // next message (ApplySession.executeCarriedValue)
                u.carriedRows = u.foreign() && ReplicatedDdl.VALUE_PREFIX.equals(m.prefix()) && ApplySession.setsRows(m.content());
            }
            return;
        }
        if (!ReplicatedDdl.PREFIX.equals(m.prefix()) || u.skipsChanges() || u.ddl.isOpen()) {
            return;
        }
        try {
            if (!begun(u)) {
                return;
            }
            ReplicatedDdl ddl;
            try {
                ddl = ReplicatedDdl.decode(m.content());
            } catch (IllegalArgumentException e) {
                throw new SQLException("undecodable DDL message in donor " + donor + "'s stream: " + e.getMessage(), "XX000");
            }
            u.ddl.open(ddl, m.content());
        } catch (RowMissingException e) {
            rowMissing(u, e);
        } catch (SQLException e) {
            failed(u, e);
        }
        if (u.ddl.runsAtOnce()) {
            runPendingDdl(u);
        }
    }

    /** Runs the statement of the unit's DDL bracket if it waits ({@link DdlBracket}); false when the unit failed. */
    private boolean runPendingDdl(Unit u) throws SQLException {
        return u.ddl.run(session, u.failure == null, work -> inTransaction(u, work),
                ddl -> LOG.debug("node {}: applied DDL of {} from donor {}: {}", self, u.describe(), donor, ddl.statement()));
    }

    /** Runs {@code work} in the unit's transaction, begun here first; false when it is not applied here or failed. */
    private boolean inTransaction(Unit u, DdlBracket.Work work) throws SQLException {
        try {
            if (!begun(u)) {
                return false;
            }
            work.run();
        } catch (RowMissingException e) {
            rowMissing(u, e);
        } catch (SQLException e) {
            failed(u, e);
        }
        return u.failure == null;
    }

    private void commit(Commit m) throws SQLException {
        Unit u = current(m);
        runPendingDdl(u);
        unit = null;
        if (u.begun && !u.skip) {
            if (u.failure != null) {
                throw unapplied(u, u.failure);
            }
            try {
                try {
                    session.flush();
                } catch (RowMissingException e) {
                    // the last batch ran in full; only the missing row is passed over, as in normal mode
                    LOG.warn("node {}: {} from donor {}: {}", self, u.describe(), donor, e.getMessage());
                }
                if (u.foreign()) {
                    session.commitLogged(u.origin, u.originLsn, recordable.applyAsLong(m.endLsn()), m.commitTime());
                    advanceOrigin(u.origin, u.originLsn);
                } else {
                    session.commit(recordable.applyAsLong(m.endLsn()), m.commitTime());
                }
            } catch (SQLException e) {
                rollbackQuietly();
                throw unapplied(u, e);
            }
            ended(u, m.endLsn());
            hook("C " + Lsn.format(m.endLsn()));
            return;
        }
        rollbackIfOpen(u);
        ended(u, m.endLsn());
    }

    private void prepare(Prepare m) throws SQLException {
        Unit u = current(m);
        unit = null;
        if (skipAtPrepare(u)) {
            rollbackIfOpen(u);
            LOG.debug("node {}: {} in donor {}'s stream: applied here already", self, u.describe(), donor);
            ended(u, m.endLsn());
            return;
        }
        runPendingDdl(u); // a bracket without its end: not written by any gateway, run all the same
        if (u.failure != null) {
            throw unapplied(u, u.failure);
        }
        try {
            if (!begun(u)) { // an empty transaction still prepares; one found applied here is not prepared again
                ended(u, m.endLsn());
                return;
            }
            if (u.foreign()) {
                session.prepare(u.loggedOrigin, m.gid(), u.loggedLsn, recordable.applyAsLong(m.endLsn()), m.prepareTime());
            } else {
                session.prepare(donor, m.gid(), u.lsn, recordable.applyAsLong(m.endLsn()), m.prepareTime());
            }
        } catch (SQLException e) {
            rollbackQuietly();
            throw unapplied(u, e);
        }
        LOG.debug("node {}: prepared {} from donor {}", self, m.gid(), donor);
        ended(u, m.endLsn());
        hook("P " + m.gid());
    }

    /**
     * At the P of a two-phase unit, whether it is skipped: found applied here, or — a foreign one — its donor's log
     * row says it was applied here (see the class comment). Inside its tentative transaction, if begun.
     */
    private boolean skipAtPrepare(Unit u) throws SQLException {
        if (u.foreign() && !u.skip) {
            boolean knownHere = u.loggedLsn == 0 && (u.begun ? u.alreadyApplied : !begun(u));
            if (u.loggedLsn == 0 && !knownHere) {
                // no log row of the donor's and its gid unknown here: the decoder lost its body (its PREPARE lies
                // before where the slot let this stream start), so whether this node has it cannot be told
                rollbackIfOpen(u);
                throw new IllegalStateException("node " + self + ": transaction " + u.gid + " of origin " + u.origin
                        + " in donor " + donor + "'s stream carries no mtm.applied_xacts row of the donor's; cannot tell"
                        + " whether it was applied here; its PREPARE precedes the donor slot's confirmed position"
                        + " (re-add this node if it persists)");
            }
            // applied here from the origin's own stream (its log row here may be cleaned up since), or through
            // another donor; read inside the tentative transaction, which sees what is committed here
            // (o, L) is logged with the unit's gid, which BEGIN looked up already when it could parse it
            u.skip = knownHere || u.loggedOrigin == self || u.loggedLsn <= originProgress(u.loggedOrigin)
                    || (!u.checkedByGid && session.logged(u.loggedOrigin, u.loggedLsn));
        }
        if (u.skip && u.gid != null) {
            skippedHere.add(u.gid); // its K finds nothing prepared here, rightly
        }
        return u.skip;
    }

    private void finishPrepared(PgOutputMessage m, String gid, long end, long time, boolean commit) throws SQLException {
        if (unit != null) {
            throw new IllegalStateException("node " + self + ": recovery stream of donor " + donor + " sent " + m
                    + " inside " + unit.describe());
        }
        Buffered b = buffered.remove(gid); // an r drops it
        if (b != null && commit && workers != null) {
            CommitPrepared k = (CommitPrepared) m;
            withWorkers(() -> workers.submit(b.begin.prepareLsn(), end, w -> w.finishCommitted(b, k, gid, end, time)));
            return;
        }
        finishCommitted(commit ? b : null, m, gid, end, time, commit);
    }

    /** A worker: the K of a buffered unit, applied as the receiver's thread would ({@link #finishCommitted}). */
    private void finishCommitted(Buffered b, CommitPrepared k, String gid, long end, long time) throws SQLException {
        finishCommitted(b, k, gid, end, time, true);
    }

    /**
     * The K ({@code commit}) or r of {@code gid}: a buffered unit ({@code b}, at its K) replayed and committed in one
     * phase; else, or when the replay found it applied or prepared here, COMMIT/ROLLBACK PREPARED.
     */
    private void finishCommitted(Buffered b, PgOutputMessage m, String gid, long end, long time, boolean commit)
            throws SQLException {
        if (b != null) {
            var before = beforeUnit;
            if (before != null) {
                before.accept("K " + gid);
            }
        }
        if (b != null && replay(b, (CommitPrepared) m)) {
            finished(end);
            hook("K " + gid);
            return;
        }
        long at = recordable.applyAsLong(end);
        boolean done = commit ? session.commitPrepared(gid, at, time) : session.rollbackPrepared(gid, at, time);
        LOG.debug("node {}: {} PREPARED {} from donor {}: {}", self, commit ? "COMMIT" : "ROLLBACK", gid, donor,
                done ? "done" : "not prepared here");
        boolean passedOver = skippedHere.remove(gid);
        if (commit && !done && !passedOver && isOthersTransaction(gid) && !session.loggedGid(gid)) {
            // committed on the donor, and neither prepared nor applied here nor passed over by this recovery: its body
            // lies before where the donor's slot let this stream start. Going on would lose it here for good.
            throw new WalGone("node " + self + ": donor " + donor + " committed " + gid + ", which this node"
                    + " never applied and whose changes precede the donor's slot position; this node cannot recover"
                    + " from donor " + donor + " — re-add it (mtm.drop_node / mtm.add_node) if no other donor works");
        }
        finished(end);
        if (done) {
            hook("K " + gid);
        }
    }

    private void finished(long end) {
        finishedLsn = Math.max(finishedLsn, end);
        finishedUpTo = Math.max(finishedUpTo, end);
        if (progress != null) {
            progress.finishedInOrder(end);
        }
    }

    private static void hook(String point) {
        var hook = afterUnit;
        if (hook != null) {
            hook.accept(point);
        }
    }

    private void ended(Unit u, long end) {
        if (u.marker > 0) {
            markerGeneration = Math.max(markerGeneration, u.marker);
            LOG.info("node {}: applied donor {}'s marker of generation {} (recovering until generation {})", self, donor,
                    u.marker, untilGeneration == Long.MAX_VALUE ? "none" : untilGeneration);
            if (u.marker >= untilGeneration) {
                reached = true;
                return; // not confirmed: a recovery restarted under the same plan reads it again
            }
        }
        finished(end);
    }

    // ---- the donor's log row of a foreign two-phase unit ----------------------------------------------

    /** A cluster transaction of another node than this one (its own are committed here by itself). */
    private boolean isOthersTransaction(String gid) {
        Gid g = Gid.tryParse(gid);
        return g != null && g.originNode() != self;
    }

    private static boolean isAppliedLog(Relation r) {
        return r.namespace().equals("mtm") && r.name().equals("applied_xacts");
    }

    private void loggedByDonor(Unit u, Relation relation, TupleData row) {
        List<Column> columns = relation.columns();
        for (int i = 0; i < columns.size(); i++) {
            if (row.kind(i) != TupleData.TEXT) {
                continue;
            }
            switch (columns.get(i).name()) {
                case "origin" -> u.loggedOrigin = Integer.parseInt(row.text(i));
                case "lsn" -> u.loggedLsn = Lsn.parse(row.text(i));
                default -> {
                    // gid: the unit's own; applied_at: not needed
                }
            }
        }
        if (u.loggedOrigin == self) {
            u.skip = true;
        }
    }

    // ---- failures ------------------------------------------------------------------------------------

    /**
     * A change failed. A foreign two-phase unit is applied tentatively (whether it must be applied is known at its
     * PREPARE): the failure is kept for then, and the rest of it skipped. Anything else stops the stream.
     */
    private void failed(Unit u, SQLException e) throws SQLException {
        if (ApplyFailure.lostConnection(e) || stopping.getAsBoolean()) {
            throw e;
        }
        if (u.foreign() && u.gid != null) {
            session.rollback();
            u.failure = e;
            return;
        }
        rollbackQuietly();
        throw unapplied(u, e);
    }

    private void rowMissing(Unit u, RowMissingException e) throws SQLException {
        if (u.gid == null) {
            LOG.warn("node {}: {} from donor {}: {}; passing over it", self, u.describe(), donor, e.getMessage());
            return;
        }
        failed(u, e);
    }

    /** Rolls back the unit's transaction if it is open (begun, not found applied, not failed and rolled back). */
    private void rollbackIfOpen(Unit u) throws SQLException {
        if (u.begun && u.failure == null && !u.alreadyApplied) {
            session.rollback();
        }
    }

    private void rollbackQuietly() {
        try {
            session.rollback();
        } catch (SQLException e) {
            // the connection is gone: the server rolled it back
        }
    }

    private SQLException unapplied(Unit u, SQLException e) {
        if (ApplyFailure.lostConnection(e)) {
            return e;
        }
        return new SQLException("node " + self + " could not apply " + u.describe() + " from donor " + donor
                + " in recovery, which has no vote and is applied again: "
                + (e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("")), e.getSQLState(), e);
    }

    /** The node id of a replication origin name {@code mtm_node_<id>} or {@code mtm_node_<id>_<worker>}; 0 otherwise. */
    static int originNode(String name) {
        if (name == null || !name.startsWith(ORIGIN_PREFIX)) {
            return 0;
        }
        String rest = name.substring(ORIGIN_PREFIX.length());
        int underscore = rest.indexOf('_');
        try {
            return Integer.parseInt(underscore < 0 ? rest : rest.substring(0, underscore));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** A two-phase unit read up to its P, kept until its K. */
    private static final class Buffered {
        final BeginPrepare begin;
        final List<PgOutputMessage> messages = new ArrayList<>();
        /** The relations its changes refer to, as described when they were read. */
        final Map<Integer, Relation> relations = new HashMap<>();
        Prepare prepare;
        boolean marker;

        Buffered(BeginPrepare begin) {
            this.begin = begin;
        }
    }

    /** A transaction of the donor's stream. */
    private final class Unit {
        final String gid;
        /** End of its PREPARE (two-phase) or its commit LSN (plain) in the donor's stream. */
        final long lsn;
        /** The origin named by its O message (0: the donor's own). */
        int origin;
        long originLsn;
        /** The (origin, L) the donor logged in mtm.applied_xacts inside it (foreign two-phase units). */
        int loggedOrigin;
        long loggedLsn;
        long marker;
        boolean begun;
        boolean skip;
        final DdlBracket ddl = new DdlBracket();
        /** The donor's row changes of a carried UPDATE this node ran itself follow ({@link ReplicatedDdl#VALUE_PREFIX}). */
        boolean carriedRows;
        /** BEGIN found it applied here (and left the transaction). */
        boolean alreadyApplied;
        /** BEGIN looked its gid up in pg_prepared_xacts and mtm.applied_xacts (a gid of mtm's). */
        boolean checkedByGid;
        SQLException failure;

        Unit(String gid, long lsn) {
            this.gid = gid;
            this.lsn = lsn;
        }

        boolean foreign() {
            return origin != 0 && origin != donor;
        }

        boolean skipsChanges() {
            return skip || ddl.skipsRows() || failure != null || carriedRows;
        }

        /** A change inside a DDL statement's bracket that is applied all the same: a row of the table it created. */
        boolean carries(Relation r) {
            return !skip && failure == null && ddl.carries(r);
        }

        String describe() {
            return gid != null ? "transaction " + gid : "transaction committed at " + Lsn.format(lsn);
        }
    }
}
