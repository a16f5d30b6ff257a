package org.mtm.applier.internal;

import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.mtm.api.LocalDatabase;
import org.mtm.api.ReplicatedDdl;
import org.mtm.api.Replication;
import org.mtm.api.SlotBuildHold;
import org.mtm.applier.internal.pgoutput.Lsn;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Column;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Delete;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.OldTupleKind;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Update;
import org.mtm.applier.internal.pgoutput.PgTimestamp;
import org.mtm.applier.internal.pgoutput.TupleData;
import org.postgresql.PGConnection;

/**
 * The apply connection to the local PostgreSQL for one peer's stream: {@code session_replication_role =
 * replica} (no user triggers, no FK re-checks: the origin checked them), the replication origin
 * {@code mtm_node_<peer>} set up for the session so that every transaction it writes carries that origin
 * (other nodes' receivers skip it) and advances the origin's progress atomically with its PREPARE,
 * COMMIT PREPARED or COMMIT, and every lock wait bounded by {@code lock_timeout}.
 *
 * <p>Transactions are explicit ({@code BEGIN} … {@code PREPARE TRANSACTION}/{@code COMMIT}) on an
 * autocommit connection, because COMMIT/ROLLBACK PREPARED must run outside a transaction block.
 * {@code pg_replication_origin_xact_setup} sets session variables that stay until the next call, so it
 * is called right before each finishing statement with that statement's end LSN.
 *
 * <p>The bookkeeping around each transaction (the applied-already check, the {@code mtm.applied_xacts} row, the
 * origin's progress) runs as SQL-level prepared statements made when the session opens ({@link ApplyBookkeeping}), so
 * it is planned once per session, not once per transaction.
 *
 * <p>Row changes use prepared statements cached per relation and statement shape, and consecutive
 * changes with the same statement are sent as one JDBC batch (one round trip); the batch is flushed
 * before anything else runs, so errors surface before the transaction is finished. Search path is empty
 * for the whole session: every name the applier writes is schema-qualified, and local types are looked up
 * with {@code format_type}, which then qualifies every type outside pg_catalog.
 *
 * <p>One thread uses a session; {@link #cancel()} and {@link #abort()} may be called from another to stop it.
 */
final class ApplySession implements AutoCloseable {

    private static final int MAX_BATCH = 1000;
    /** See {@link #unvotedLockTimeoutMs()}. */
    static final int UNVOTED_LOCK_FACTOR = 10;
    /** SQLSTATE of "prepared transaction ... is busy": another session is preparing or finishing it right now. */
    private static final String BUSY = "55000";
    private static final String INSERT_SHAPE = "insert";
    /**
     * The local columns: name, type with modifier, whether it compares with {@code =}, whether the table has a
     * primary key, the modifier and type oid (checked against the origin's relation message), and whether it
     * is {@code GENERATED ALWAYS AS IDENTITY}; last, the sequence that feeds it (owned by it, or named in its default).
     */
    private static final String TYPES_SQL = "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
            + " t.typcategory = 'S' OR EXISTS (SELECT 1 FROM pg_catalog.pg_opclass oc"
            + " JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod"
            + " WHERE am.amname = 'btree' AND oc.opcdefault AND oc.opcintype IN (t.oid, t.typbasetype))"
            + ", EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary)"
            + ", a.atttypmod, a.atttypid::int8, a.attidentity = 'a', a.attgenerated <> '', t.typtype = 'd'"
            + ", (SELECT pg_catalog.min(s.oid::pg_catalog.regclass::pg_catalog.text) FROM pg_catalog.pg_class s"
            + " WHERE s.relkind = 'S' AND s.oid IN (SELECT d.objid FROM pg_catalog.pg_depend d"
            + " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
            + " AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype IN ('a', 'i')"
            + " UNION ALL SELECT d.refobjid FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_depend d"
            + " ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid = ad.oid"
            + " AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum))"
            + ", CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END"
            + " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
            + " WHERE a.attrelid = pg_catalog.to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped";

    /** Advisory lock key the mtm catalog installer also takes: concurrent CREATE ... IF NOT EXISTS can collide. */
    private static final long SCHEMA_LOCK = 0x6d746d5f736368L;
    /**
     * Two-phase transactions applied here, by origin and the end LSN of their PREPARE in its stream; a row
     * is written inside the applied transaction, so it is visible exactly when the transaction committed
     * here. Kept {@link #APPLIED_LOG_RETENTION} past the durable progress, for "was it committed here?".
     */
    private static final String APPLIED_LOG_DDL = "CREATE TABLE IF NOT EXISTS mtm.applied_xacts ("
            + " origin int NOT NULL, lsn pg_lsn NOT NULL, gid text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),"
            + " PRIMARY KEY (origin, lsn)); CREATE INDEX IF NOT EXISTS applied_xacts_gid ON mtm.applied_xacts (gid)";
    private static final String APPLIED_LOG_RETENTION = "10 minutes";

    private final Connection connection;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ApplySession.class);
    private final int self;
    private final int peer;
    private final String origin;
    private final long lockTimeoutMs;
    /** This node's PostgreSQL ({@code server_version}), named in a no-vote for a syntax it does not know. */
    private final String serverVersion;
    /** {@code ignore_tables_without_pk}: changes of tables without a primary key are skipped. */
    private final boolean ignoreTablesWithoutPk;
    /** {@code monotonic_sequences}: the values a transaction wrote move this node's sequences before it is prepared. */
    private final boolean monotonicSequences;
    /** What the transaction being applied wrote into sequence-fed columns (only with {@link #monotonicSequences}). */
    private final SequenceFloors sequenceFloors = new SequenceFloors();
    /** False on a node without the mtm catalog functions (module tests): no replica identity upkeep after DDL. */
    private final boolean replicaIdentityUpkeep;
    /** The lock bound of the transaction being applied (see {@link #begin}). */
    private long transactionLockTimeoutMs;
    private final boolean localTablesExist;
    private final Statement statement;
    private final PreparedStatement typesQuery;
    private final PreparedStatement sessionSettings;
    private final PreparedStatement emitMessage;
    private final Map<Integer, Target> targets = new HashMap<>();

    private final int pid;
    /** System.nanoTime() when a statement that may wait for locks started; 0 when none runs. */
    private volatile long busySince;
    /** The MTM- transaction being applied, for the lock watch. */
    private volatile String applying;
    /** Set by the lock watch just before it cancels this session: the prepared transaction it waits for. */
    private volatile String cancelledFor;
    private volatile boolean cancelledInCycle;
    /** Set just before this session is cancelled because its MTM- transaction was rolled back on its origin. */
    private volatile String abandoned;
    /** Set by {@link #cancel()}: the receiver is closing this session; a cancelled statement is no conflict. */
    private volatile boolean closing;
    /** The relation of the batch whose execution failed last in this transaction, for the no-vote's message. */
    private String failedRelation;

    private String localTablesDigest = "";
    private Set<String> localTables = Set.of();

    // the pending batch: one statement, its target and whether each row must have matched a row
    private PreparedStatement batch;
    private Target batchTarget;
    private String batchOperation;
    private int batchSize;
    // or the pending run of INSERTs into one relation (never both: each flushes the other first)
    private InsertRun inserts;

    private ApplySession(Connection connection, int self, int peer, int worker, ApplierSettings settings) throws SQLException {
        this.ignoreTablesWithoutPk = settings.ignoreTablesWithoutPk();
        this.monotonicSequences = settings.monotonicSequences();
        this.connection = connection;
        this.self = self;
        this.peer = peer;
        this.origin = originName(peer, worker);
        connection.setAutoCommit(true);
        this.statement = connection.createStatement();
        statement.setEscapeProcessing(false);
        long deadlockTimeoutMs;
        try (ResultSet rs = statement.executeQuery(
                "SELECT (extract(epoch FROM pg_catalog.current_setting('deadlock_timeout')::interval) * 1000)::bigint,"
                + " pg_catalog.current_setting('server_version')")) {
            rs.next();
            deadlockTimeoutMs = rs.getLong(1);
            this.serverVersion = rs.getString(2);
        }
        long lockTimeoutMs = ApplierSettings.sessionLockTimeout(settings.lockTimeoutMs(), deadlockTimeoutMs);
        this.lockTimeoutMs = lockTimeoutMs;
        this.transactionLockTimeoutMs = lockTimeoutMs;
        // mtm.volkswagen_mode defined (off) in this session, so that a DDL statement's carried value can be set
        statement.execute("SET session_replication_role = replica; SET search_path = '';"
                + " SET " + ReplicatedDdl.VOLKSWAGEN_MODE + " = off;"
                + " SET lock_timeout = " + lockTimeoutMs + "; SET synchronous_commit = local;"
                + " SET application_name = " + Sql.quoteLiteral("mtm_apply_" + peer + (worker == 0 ? "" : "_" + worker)));
        boolean appliedLogExists;
        try (ResultSet rs = statement.executeQuery("SELECT pg_catalog.to_regclass('mtm.local_tables') IS NOT NULL,"
                + " pg_catalog.to_regclass('mtm.applied_xacts') IS NOT NULL,"
                + " pg_catalog.to_regprocedure('mtm.ensure_replica_identity()') IS NOT NULL")) {
            rs.next();
            this.localTablesExist = rs.getBoolean(1);
            appliedLogExists = rs.getBoolean(2);
            this.replicaIdentityUpkeep = rs.getBoolean(3);
        }
        if (!appliedLogExists) {
            statement.execute("BEGIN; SELECT pg_catalog.pg_advisory_xact_lock(" + SCHEMA_LOCK + ");"
                    + " CREATE SCHEMA IF NOT EXISTS mtm; " + APPLIED_LOG_DDL + "; COMMIT");
        }
        if (worker != 0) { // worker origins are the receiver's own business: made on first use
            statement.execute("SELECT pg_catalog.pg_replication_origin_create(" + Sql.quoteLiteral(origin) + ")"
                    + " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_origin WHERE roname = "
                    + Sql.quoteLiteral(origin) + ")");
        }
        statement.execute("SELECT pg_catalog.pg_replication_origin_session_setup(" + Sql.quoteLiteral(origin) + ")");
        statement.execute(ApplyBookkeeping.prepareAll(localTablesExist));
        this.pid = connection.unwrap(PGConnection.class).getBackendPID();
        this.typesQuery = connection.prepareStatement(TYPES_SQL);
        this.sessionSettings = connection.prepareStatement(
                "SELECT pg_catalog.set_config('search_path', ?, true), pg_catalog.set_config('role', ?, true)");
        this.emitMessage = connection.prepareStatement("SELECT pg_catalog.pg_logical_emit_message(true, ?, ?)");
        if (localTablesExist) {
            refreshLocalTables();
        }
    }

    /**
     * Opens the apply connection for {@code peer}'s stream.
     *
     * @throws SQLException when the server cannot be reached, or the replication origin
     *                      {@code mtm_node_<peer>} is missing or in use by another session (an apply
     *                      backend of a previous receiver that is still exiting)
     */
    static ApplySession open(LocalDatabase database, int self, int peer, ApplierSettings settings) throws SQLException {
        return open(database, self, peer, 0, settings);
    }

    /**
     * The apply connection of parallel worker {@code worker} (1..) of {@code peer}'s stream, under its own
     * replication origin {@code mtm_node_<peer>_<worker>} (PostgreSQL 15 lets one session at a time use an
     * origin); worker 0 is the receiver's own session under {@code mtm_node_<peer>}.
     */
    static ApplySession open(LocalDatabase database, int self, int peer, int worker, ApplierSettings settings)
            throws SQLException {
        Connection c = database.connect();
        try {
            return new ApplySession(c, self, peer, worker, settings);
        } catch (SQLException | RuntimeException e) {
            try {
                c.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    int backendPid() {
        return pid;
    }

    // ---- what the lock watch sees ----------------------------------------------------------------------

    /** The MTM- transaction this session applies from now on (null: none). */
    void applying(String gid) {
        applying = gid;
        cancelledFor = null;
        abandoned = null;
    }

    String applying() {
        return applying;
    }

    /** True when a statement that may wait for a lock has run for at least {@code nanos}. */
    boolean busyFor(long nanos) {
        long since = busySince;
        return since != 0 && System.nanoTime() - since >= nanos;
    }

    /** The lock watch is about to cancel this session because {@code waiter} waits for prepared {@code holder}. */
    boolean markCancelled(String waiter, String holder) {
        return markCancelled(waiter, holder, false);
    }

    /** {@link #markCancelled(String, String)}; {@code inCycle}: the wait closes a cycle across nodes (global deadlock). */
    boolean markCancelled(String waiter, String holder, boolean inCycle) {
        if (!waiter.equals(applying)) {
            return false;
        }
        cancelledInCycle = inCycle;
        cancelledFor = holder;
        return true;
    }

    /** Whether the lock watch cancelled {@code gid}'s apply as the victim of a cycle of waits across nodes. */
    boolean cancelledInCycle(String gid) {
        return cancelledInCycle && cancelledFor(gid) != null;
    }

    /** The prepared transaction the lock watch cancelled {@code gid}'s apply for, or null. */
    String cancelledFor(String gid) {
        String holder = cancelledFor;
        return holder != null && gid.equals(applying) ? holder : null;
    }

    /**
     * From another thread: the transaction {@code gid} this session applies was rolled back on its origin
     * (its {@code r} is in the stream), so its apply may stop: marks it, so that a cancellation that follows
     * is recognised by {@link #abandoned(String)}. False when the session applies something else.
     */
    boolean abandon(String gid) {
        if (!gid.equals(applying)) {
            return false;
        }
        abandoned = gid;
        return true;
    }

    /** True when {@code gid}'s apply was {@link #abandon abandoned}: its cancellation is no failure. */
    boolean abandoned(String gid) {
        return gid != null && gid.equals(abandoned);
    }

    /** This node's PostgreSQL ({@code server_version}), for the no-vote's message. */
    String serverVersion() {
        return serverVersion;
    }

    /** The lock bound of the transaction being applied, for the no-vote's message. */
    long lockTimeoutMs() {
        return transactionLockTimeoutMs;
    }

    /**
     * The lock bound of one MTM- apply: uniformly spread over the upper half of the configured bound
     * ({@code u} in [0, 1)). Two transactions that wait for each other across nodes would otherwise give up
     * at the same moment and both be voted down, and their retries meet again the same way; with the spread
     * one gives up first, its no-vote aborts it everywhere and the other commits.
     */
    static long spreadLockTimeout(long boundMs, double u) {
        long half = boundMs / 2;
        return Math.max(1, half + (long) (u * (boundMs - half)));
    }

    /**
     * Lock bound of a transaction that cannot be voted down (a plain transaction, committed on its origin
     * already, or a user's own two-phase one): it must be applied, so it waits {@value #UNVOTED_LOCK_FACTOR}
     * times the bound of an MTM- apply. The transactions it waits for are then decided (an MTM- apply on
     * another node gives up after the short bound and votes no) before it gives up, and new local lock
     * requests queue behind its own: it is not starved by an endless stream of short conflicts.
     */
    long unvotedLockTimeoutMs() {
        return lockTimeoutMs * UNVOTED_LOCK_FACTOR;
    }

    /** Replication origin of worker {@code worker} of {@code peer}'s stream (0: the receiver's own). */
    static String originName(int peer, int worker) {
        return Replication.workerOriginName(peer, worker);
    }

    /**
     * Durable progress of {@code peer}'s stream: the highest progress any of its origins (the receiver's
     * and its workers') recorded; every unit up to it is finished here. 0 when none was recorded.
     */
    long originProgress() throws SQLException {
        return originProgress(peer);
    }

    /** Durable progress of {@code origin}'s stream here (its origin and its workers'); 0 when none was recorded. */
    long originProgress(int origin) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(
                "SELECT max(pg_catalog.pg_replication_origin_progress(roname, true))::text FROM pg_catalog.pg_replication_origin"
                + " WHERE roname = ? OR pg_catalog.starts_with(roname, ?)")) {
            ps.setString(1, Replication.originName(origin));
            ps.setString(2, Replication.originName(origin) + "_");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                String lsn = rs.getString(1);
                return lsn == null ? 0L : Lsn.parse(lsn);
            }
        }
    }

    /**
     * How often each of this session's {@link ApplyBookkeeping} statements ran on a plan made once and kept (generic)
     * and on one made for that run (custom), from {@code pg_prepared_statements}: name → {generic, custom}.
     */
    Map<String, long[]> bookkeepingPlans() throws SQLException {
        Map<String, long[]> plans = new HashMap<>();
        try (ResultSet rs = statement.executeQuery("SELECT name, generic_plans, custom_plans FROM pg_catalog.pg_prepared_statements"
                + " WHERE name IN ('" + ApplyBookkeeping.BEGIN + "', '" + ApplyBookkeeping.LOG + "', '" + ApplyBookkeeping.ORIGIN + "')")) {
            while (rs.next()) {
                plans.put(rs.getString(1), new long[] {rs.getLong(2), rs.getLong(3)});
            }
        }
        return plans;
    }

    /** The value of setting {@code name} in this session now (inside the open transaction, if any). */
    String setting(String name) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_catalog.current_setting(?)")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    int maxReplicationSlots() throws SQLException {
        try (ResultSet rs = statement.executeQuery("SELECT pg_catalog.current_setting('max_replication_slots')::int")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Gids of this database's prepared transactions that start with {@code prefix}. */
    List<String> preparedGids(String prefix) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT gid FROM pg_catalog.pg_prepared_xacts"
                + " WHERE database = pg_catalog.current_database() AND pg_catalog.starts_with(gid, ?) ORDER BY prepared")) {
            ps.setString(1, prefix);
            List<String> gids = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    gids.add(rs.getString(1));
                }
            }
            return gids;
        }
    }

    // ---- transaction control ------------------------------------------------------------------------

    /**
     * {@code BEGIN}, in the same round trip as the refresh of the local-tables filter and, for a two-phase
     * transaction ({@code unitLsn} != 0: the end LSN of its PREPARE in the peer's stream), the check whether
     * it was applied here already: logged in {@code mtm.applied_xacts} (committed) or, for an {@code MTM-}
     * gid ({@code preparedGid}), prepared. Then the transaction is left again and true returned: a
     * re-delivered PREPARE must not be applied twice. A transaction that cannot be voted down
     * ({@code votable} false) gets the longer {@link #unvotedLockTimeoutMs() lock bound}, an MTM- one a
     * {@link #spreadLockTimeout spread} of the configured bound.
     */
    boolean begin(String preparedGid, long unitLsn, boolean votable) throws SQLException {
        return begin(preparedGid, false, peer, unitLsn, votable, false);
    }

    /**
     * {@code BEGIN} as {@link #begin(String, long, boolean)}, for recovery from a donor, whose stream brings
     * transactions of every origin: applied here already when {@code preparedGid} is prepared here, or — with
     * {@code byGid} — logged in {@code mtm.applied_xacts} under any origin, or logged as ({@code origin},
     * {@code unitLsn}) ({@code unitLsn} 0: not checked). Returns true (and leaves the transaction) when applied already.
     * The transaction first takes the catch-up's share of {@link SlotBuildHold}: while this node makes its replication
     * slots (a node that joined through {@code mtm.join_node}) no unit is open, and none begins until they exist.
     */
    boolean begin(String preparedGid, boolean byGid, int origin, long unitLsn, boolean votable) throws SQLException {
        return begin(preparedGid, byGid, origin, unitLsn, votable, true);
    }

    private boolean begin(String preparedGid, boolean byGid, int origin, long unitLsn, boolean votable, boolean held)
            throws SQLException {
        failedRelation = null;
        transactionLockTimeoutMs = votable ? spreadLockTimeout(lockTimeoutMs, java.util.concurrent.ThreadLocalRandom.current().nextDouble())
                : unvotedLockTimeoutMs();
        String sql = "BEGIN; " + (held ? SlotBuildHold.UNIT_SQL + "; " : "")
                + ApplyBookkeeping.begin(transactionLockTimeoutMs, preparedGid, byGid, origin,
                unitLsn == 0 ? null : Lsn.format(unitLsn));
        boolean prepared;
        String digest;
        try (ResultSet rs = held ? secondResultSet(sql) : firstResultSet(sql)) {
            rs.next();
            prepared = rs.getBoolean(1);
            digest = rs.getString(2);
        }
        if (!digest.equals(localTablesDigest)) {
            refreshLocalTables();
        }
        if (prepared) {
            statement.execute("ROLLBACK");
        }
        return prepared;
    }

    /**
     * {@code PREPARE TRANSACTION}, recording {@code progressLsn} as the origin's progress with it and the
     * transaction in {@code mtm.applied_xacts} (visible once committed) under {@code unitLsn}, the end of
     * its PREPARE in the peer's stream.
     */
    void prepare(String gid, long unitLsn, long progressLsn, long prepareTime) throws SQLException {
        prepare(peer, gid, unitLsn, progressLsn, prepareTime);
    }

    /**
     * {@code PREPARE TRANSACTION} as {@link #prepare(String, long, long, long)}, logged in {@code mtm.applied_xacts}
     * as ({@code origin}, {@code unitLsn}): in recovery, a transaction of another origin than the donor is logged
     * under its origin and the end of its PREPARE in that origin's stream, so that the origin's own stream later
     * finds it applied.
     */
    void prepare(int origin, String gid, long unitLsn, long progressLsn, long prepareTime) throws SQLException {
        finishRows();
        statement.execute(ApplyBookkeeping.log(origin, Lsn.format(unitLsn), gid, Lsn.format(progressLsn), time(prepareTime))
                + "; PREPARE TRANSACTION " + Sql.quoteLiteral(gid));
    }

    /**
     * Forgets applied two-phase transactions of the peer's stream up to {@code upTo}, the durable progress
     * (the stream never brings them again), once older than the retention. Outside any transaction;
     * records no origin progress.
     */
    int forgetAppliedUpTo(long upTo) throws SQLException {
        statement.execute("SELECT pg_catalog.pg_replication_origin_xact_reset()");
        return statement.executeUpdate("DELETE FROM mtm.applied_xacts WHERE origin = " + peer + " AND lsn <= "
                + Sql.quoteLiteral(Lsn.format(upTo)) + " AND applied_at < now() - interval '" + APPLIED_LOG_RETENTION + "'");
    }

    /** {@code COMMIT}, recording {@code endLsn} as the origin's progress with it. */
    void commit(long endLsn, long commitTime) throws SQLException {
        finishRows();
        statement.execute(originXactSetup(endLsn, commitTime) + "; COMMIT");
    }

    /**
     * {@code COMMIT} of a plain transaction of another origin applied in recovery, logged in
     * {@code mtm.applied_xacts} as ({@code origin}, {@code originLsn}, '') inside it; the session's origin records
     * {@code progressLsn} (the donor's stream). Follow it with {@link #advanceOrigin}.
     */
    void commitLogged(int origin, long originLsn, long progressLsn, long commitTime) throws SQLException {
        finishRows();
        statement.execute("INSERT INTO mtm.applied_xacts (origin, lsn, gid) VALUES (" + origin + ", "
                + Sql.quoteLiteral(Lsn.format(originLsn)) + ", '') ON CONFLICT DO NOTHING; "
                + originXactSetup(progressLsn, commitTime) + "; COMMIT");
    }

    /**
     * {@code COMMIT} of a two-phase transaction applied as one plain transaction (recovery, at its COMMIT PREPARED):
     * logged in {@code mtm.applied_xacts} as ({@code origin}, {@code unitLsn}, {@code gid}) exactly as
     * {@link #prepare(int, String, long, long, long)} would, recording {@code progressLsn} as the session origin's
     * progress.
     */
    void commitOnePhase(int origin, String gid, long unitLsn, long progressLsn, long commitTime) throws SQLException {
        finishRows();
        statement.execute(ApplyBookkeeping.log(origin, Lsn.format(unitLsn), gid, Lsn.format(progressLsn), time(commitTime))
                + "; COMMIT");
    }

    /**
     * From now on this session's commits do not wait for their WAL flush ({@code synchronous_commit = off});
     * {@link #syncPoint()} makes them durable. PREPARE TRANSACTION and COMMIT/ROLLBACK PREPARED are flushed
     * regardless.
     */
    void commitAsynchronously() throws SQLException {
        statement.execute("SET synchronous_commit = off");
    }

    /**
     * A sync point: one tiny transaction committed synchronously. WAL is flushed in order, so every transaction
     * this session committed before it is durable once it returns. Outside a transaction.
     */
    void syncPoint() throws SQLException {
        statement.execute(SYNC_POINT_SQL);
    }

    /**
     * The sync point's transaction. PostgreSQL flushes a commit only if the transaction wrote WAL besides its commit
     * record: one that only took an xid commits asynchronously whatever {@code synchronous_commit} says, and the async
     * commits before it stayed unflushed (the flush LSN did not move; session 25). So it writes one WAL record: a
     * non-transactional logical message, which the peers' receivers ignore. Then its commit flushes the WAL up to it.
     */
    static final String SYNC_POINT_SQL = "BEGIN; SET LOCAL synchronous_commit = local; SELECT pg_catalog.txid_current(); "
            + "SELECT pg_catalog.pg_logical_emit_message(false, 'mtm.sync_point', ''); COMMIT";

    /** True when {@code gid} is logged in {@code mtm.applied_xacts} (applied and committed here). Outside a transaction. */
    boolean loggedGid(String gid) throws SQLException {
        try (ResultSet rs = statement.executeQuery("SELECT EXISTS (SELECT 1 FROM mtm.applied_xacts WHERE gid = "
                + Sql.quoteLiteral(gid) + ")")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** True when ({@code origin}, {@code lsn}) is logged in {@code mtm.applied_xacts}. Outside a transaction. */
    boolean logged(int origin, long lsn) throws SQLException {
        try (ResultSet rs = statement.executeQuery("SELECT EXISTS (SELECT 1 FROM mtm.applied_xacts WHERE origin = " + origin
                + " AND lsn = " + Sql.quoteLiteral(Lsn.format(lsn)) + ")")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /**
     * Moves the progress of origin {@code mtm_node_<origin>} (not this session's) forward to {@code lsn}, never
     * back. Only while no session uses that origin: in recovery, where no receiver of {@code origin} runs.
     */
    void advanceOrigin(int origin, long lsn) throws SQLException {
        String name = Sql.quoteLiteral(Replication.originName(origin));
        String at = Sql.quoteLiteral(Lsn.format(lsn));
        statement.executeQuery("SELECT pg_catalog.pg_replication_origin_advance(" + name + ", " + at + ")"
                + " WHERE COALESCE(pg_catalog.pg_replication_origin_progress(" + name + ", true), '0/0'::pg_lsn) < " + at
                + "::pg_lsn").close();
    }

    /**
     * Brings each origin's progress up to the plain transactions of it that recovery applied and logged
     * ({@code gid} ''): the advance that follows their commit is not atomic with it, and a crash in between would
     * let that origin's own stream apply them again.
     */
    void advanceOriginsToLoggedPlain() throws SQLException {
        statement.executeQuery("SELECT pg_catalog.pg_replication_origin_advance(o.roname, l.lsn)"
                + " FROM (SELECT origin, max(lsn) AS lsn FROM mtm.applied_xacts WHERE gid = '' GROUP BY origin) l"
                + " JOIN pg_catalog.pg_replication_origin o ON o.roname = 'mtm_node_' || l.origin"
                + " WHERE l.origin <> " + peer
                + " AND COALESCE(pg_catalog.pg_replication_origin_progress(o.roname, true), '0/0'::pg_lsn) < l.lsn").close();
    }

    /** Leaves any open transaction and gives up the session's replication origin (the session is closed next). */
    void releaseOrigin() throws SQLException {
        discardBatch();
        sequenceFloors.clear();
        statement.execute("ROLLBACK; SELECT pg_catalog.pg_replication_origin_session_reset()");
    }

    /** Drops the pending batch and rolls the open transaction back. */
    void rollback() throws SQLException {
        discardBatch();
        sequenceFloors.clear();
        statement.execute("ROLLBACK");
    }

    /** {@code COMMIT PREPARED} under the origin; false when no such prepared transaction exists here. */
    boolean commitPrepared(String gid, long endLsn, long commitTime) throws SQLException {
        return finishPrepared("COMMIT PREPARED ", gid, endLsn, commitTime);
    }

    /** {@code ROLLBACK PREPARED} under the origin; false when no such prepared transaction exists here. */
    boolean rollbackPrepared(String gid, long endLsn, long rollbackTime) throws SQLException {
        return finishPrepared("ROLLBACK PREPARED ", gid, endLsn, rollbackTime);
    }

    /**
     * Runs COMMIT/ROLLBACK PREPARED. Another session may be preparing or finishing the same gid at this moment
     * ("is busy": the receiver of the transaction's origin when this stream's start position hid whose finish
     * this is, see {@link ForeignFinishes}; or the coordinator rolling back early): that is waited out, up to
     * the lock bound, after which the gid is either gone (false) or finished by this call.
     */
    private boolean finishPrepared(String command, String gid, long endLsn, long time) throws SQLException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(lockTimeoutMs);
        while (true) {
            // two round trips: the command may not run inside the implicit block of a multi-statement query
            statement.execute(originXactSetup(endLsn, time));
            try {
                statement.execute(command + Sql.quoteLiteral(gid));
                return true;
            } catch (SQLException e) {
                if ("42704".equals(e.getSQLState())) { // undefined_object: not prepared here
                    return false;
                }
                if (!BUSY.equals(e.getSQLState()) || System.nanoTime() >= deadline) {
                    throw e;
                }
            }
            try {
                Thread.sleep(10); // the other session's PREPARE or COMMIT takes a few milliseconds
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while " + command + gid + " was busy", "57014", ie);
            }
        }
    }

    private static String originXactSetup(long lsn, long pgTimestamp) {
        return ApplyBookkeeping.origin(Lsn.format(lsn), time(pgTimestamp));
    }

    private static String time(long pgTimestamp) {
        return PgTimestamp.toInstant(pgTimestamp).toString();
    }

    // ---- relations -----------------------------------------------------------------------------------

    /**
     * The local target of the origin's relation, or null when its changes are not applied: relations of
     * schema {@code mtm} (node-local state) except {@code mtm.local_tables} (make_table_local is
     * replicated), tables listed in {@code mtm.local_tables}, and with {@code ignore_tables_without_pk} tables
     * without a primary key here (the schemas are the same on every node). Runs inside the apply transaction,
     * so a table created earlier in it is found.
     */
    Target target(Relation relation) throws SQLException {
        if (nodeLocal(relation)) {
            return null;
        }
        if (!localTables.isEmpty() && localTables.contains(relation.schema() + '.' + relation.name())) {
            return null;
        }
        Target t = targets.get(relation.relationId());
        if (t != null && t.relation == relation) {
            return ignoreTablesWithoutPk && !t.hasPrimaryKey ? null : t;
        }
        if (t != null) {
            forget(t);
        }
        t = lookUp(relation);
        targets.put(relation.relationId(), t);
        return ignoreTablesWithoutPk && !t.hasPrimaryKey ? null : t;
    }

    /** Relations of schema {@code mtm} other than {@code mtm.local_tables}: node-local state, never applied. */
    static boolean nodeLocal(Relation relation) {
        return relation.namespace().equals("mtm") && !relation.name().equals("local_tables");
    }

    /** Forgets every target and its statements (after DDL, which may change local column types). */
    void forgetTargets() throws SQLException {
        flush();
        for (Target t : targets.values()) {
            t.close();
        }
        targets.clear();
    }

    private void forget(Target t) throws SQLException {
        if (batchTarget == t || inserts != null && inserts.target == t) {
            flush();
        }
        t.close();
        targets.remove(t.relation.relationId());
    }

    private Target lookUp(Relation relation) throws SQLException {
        String name = Sql.quoteIdent(relation.schema()) + '.' + Sql.quoteIdent(relation.name());
        Map<String, LocalColumn> local = new HashMap<>();
        Map<String, String> feeding = new HashMap<>();
        Map<String, String> bases = new HashMap<>();
        boolean primaryKey = false;
        typesQuery.setString(1, name);
        try (ResultSet rs = typesQuery.executeQuery()) {
            while (rs.next()) {
                local.put(rs.getString(1), new LocalColumn(rs.getString(2), rs.getBoolean(3), rs.getInt(5), rs.getLong(6),
                        rs.getBoolean(7), rs.getBoolean(8), rs.getBoolean(9)));
                primaryKey = rs.getBoolean(4);
                if (rs.getString(10) != null) {
                    feeding.put(rs.getString(1), rs.getString(10));
                }
                if (rs.getString(11) != null) {
                    bases.put(rs.getString(1), rs.getString(11));
                }
            }
        }
        if (local.isEmpty() && !(relation.columns().isEmpty() && relationExists(name))) { // a table may have no columns
            throw new SQLException("relation " + relation.qualifiedName() + " of node " + peer + " does not exist on node "
                    + self + ": the nodes' schemas differ (was DDL run with replication bypassed?)", "42P01");
        }
        List<Column> columns = relation.columns();
        String[] types = new String[columns.size()];
        boolean[] equality = new boolean[columns.size()];
        boolean[] identityAlways = new boolean[columns.size()];
        boolean[] domain = new boolean[columns.size()];
        String[] sequences = new String[columns.size()];
        String[] baseTypes = new String[columns.size()];
        for (int i = 0; i < columns.size(); i++) {
            Column origin = columns.get(i);
            LocalColumn c = local.get(origin.name());
            if (c == null) {
                throw new SQLException("column \"" + origin.name() + "\" of relation " + relation.qualifiedName()
                        + " of node " + peer + " does not exist on node " + self + ": the nodes' schemas differ", "42703");
            }
            c.checkSameAs(origin, relation, peer, self);
            types[i] = c.type();
            equality[i] = c.equality();
            identityAlways[i] = c.identityAlways();
            domain[i] = c.domain();
            sequences[i] = feeding.get(origin.name());
            baseTypes[i] = bases.get(origin.name());
        }
        return new Target(relation, types, equality, identityAlways, primaryKey).withDomains(domain).withSequences(sequences)
                .withBaseTypes(baseTypes);
    }

    private void refreshLocalTables() throws SQLException {
        Set<String> names = new HashSet<>();
        StringBuilder digest = new StringBuilder();
        try (ResultSet rs = statement.executeQuery(
                "SELECT rel_schema, rel_name FROM mtm.local_tables ORDER BY rel_schema, rel_name")) {
            while (rs.next()) {
                String n = rs.getString(1) + '.' + rs.getString(2);
                names.add(n);
                digest.append(digest.length() == 0 ? "" : ",").append(n);
            }
        }
        localTables = Set.copyOf(names);
        localTablesDigest = digest.toString();
    }

    // ---- row changes ---------------------------------------------------------------------------------

    void insert(Target t, TupleData row) throws SQLException {
        if (t.columns.length == 0) { // INSERT ... DEFAULT VALUES: nothing to copy
            add(insertStatement(t), t, null);
            return;
        }
        if (batch != null) {
            flush();
        }
        if (inserts != null && inserts.target != t) {
            flushInserts();
        }
        if (inserts == null) {
            inserts = new InsertRun(t);
        }
        String[] values = new String[row.size()];
        for (int i = 0; i < row.size(); i++) {
            values[i] = value(t, row, i, "INSERT");
        }
        inserts.add(values);
        if (inserts.full()) {
            flushInserts();
        }
        noteSequenceValues(t, row);
    }

    private PreparedStatement insertStatement(Target t) throws SQLException {
        PreparedStatement ps = t.statement(INSERT_SHAPE);
        if (ps == null) {
            ps = connection.prepareStatement(Sql.insert(t));
            t.remember(INSERT_SHAPE, ps);
        }
        return ps;
    }

    void update(Target t, Update u) throws SQLException {
        TupleData row = u.newTuple();
        TupleData old = u.oldKind() == OldTupleKind.NONE ? row : u.oldTuple();
        BitSet where = identityColumns(t, old, u.oldKind(), "UPDATE");
        BitSet set = new BitSet(row.size());
        BitSet guard = new BitSet(row.size());
        for (int i = 0; i < row.size(); i++) {
            if (row.isUnchangedToast(i)) {
                continue;
            }
            if (!t.identityAlways[i]) {
                set.set(i);
            } else if (!where.get(i)) {
                guard.set(i); // PostgreSQL refuses to assign it: the row must hold the origin's value already
            } else if (!sameValue(old, row, i)) {
                move(t, row, old, where); // SET a = DEFAULT: no UPDATE can assign it here
                noteSequenceValues(t, row);
                return;
            }
        }
        if (set.isEmpty()) {
            return; // nothing the origin changed is visible here
        }
        BitSet nulls = nulls(old, where);
        Shape shape = new Shape('U', set, where, nulls, guard);
        PreparedStatement ps = t.statement(shape);
        if (ps == null) {
            ps = connection.prepareStatement(Sql.update(t, set, where, nulls, guard));
            t.remember(shape, ps);
        }
        int p = 1;
        for (int i = set.nextSetBit(0); i >= 0; i = set.nextSetBit(i + 1)) {
            p = bind(ps, p, t, row, i, "UPDATE");
        }
        p = bindIdentity(ps, p, t, old, where, nulls);
        for (int i = guard.nextSetBit(0); i >= 0; i = guard.nextSetBit(i + 1)) {
            p = bind(ps, p, t, row, i, "UPDATE");
        }
        if (guard.isEmpty()) {
            add(ps, t, "UPDATE");
        } else {
            updateGuarded(ps, t, old, where, nulls, guard);
        }
        noteSequenceValues(t, row);
    }

    /**
     * An UPDATE that changed a GENERATED ALWAYS identity column of the replica identity (the origin ran {@code SET a =
     * DEFAULT}; a table without a key has FULL identity, so every column is in it): PostgreSQL lets no UPDATE assign
     * such a column, so the row is moved — deleted and inserted again with the origin's values, {@code OVERRIDING
     * SYSTEM VALUE}, in one statement ({@link Sql#move}). Run on its own: it is not the shape of any batch.
     */
    private void move(Target t, TupleData row, TupleData old, BitSet where) throws SQLException {
        flush();
        BitSet nulls = nulls(old, where);
        BitSet values = new BitSet(row.size());
        for (int i = 0; i < row.size(); i++) {
            if (!row.isUnchangedToast(i)) {
                values.set(i);
            }
        }
        int count;
        try (PreparedStatement ps = connection.prepareStatement(Sql.move(t, where, nulls, values))) {
            int p = bindIdentity(ps, 1, t, old, where, nulls);
            for (int i = values.nextSetBit(0); i >= 0; i = values.nextSetBit(i + 1)) {
                p = bind(ps, p, t, row, i, "UPDATE");
            }
            count = executeAlone(ps, t);
        }
        if (count == 0) {
            throw new RowMissingException("UPDATE", t.displayName(), self);
        }
    }

    /**
     * An UPDATE guarded by GENERATED ALWAYS identity columns outside the replica identity, run on its own (not
     * batched): when it finds no row, the row may be there with another value in such a column — the origin ran
     * {@code SET a = DEFAULT}, which no statement can replay here — and that is said with 0A000 instead of a 40001 a
     * client would retry for ever (the same statement fails the same way every time).
     */
    private void updateGuarded(PreparedStatement ps, Target t, TupleData old, BitSet where, BitSet nulls, BitSet guard)
            throws SQLException {
        flush();
        if (executeAlone(ps, t) > 0) {
            return;
        }
        boolean found;
        try (PreparedStatement exists = connection.prepareStatement(Sql.exists(t, where, nulls))) {
            bindIdentity(exists, 1, t, old, where, nulls);
            try (ResultSet rs = exists.executeQuery()) {
                found = rs.next();
            }
        }
        if (!found) {
            throw new RowMissingException("UPDATE", t.displayName(), self);
        }
        StringBuilder columns = new StringBuilder();
        for (int i = guard.nextSetBit(0); i >= 0; i = guard.nextSetBit(i + 1)) {
            columns.append(columns.length() == 0 ? "" : ", ").append(t.columns[i]);
        }
        throw new SQLException("UPDATE of relation " + t.displayName() + " of node " + peer + " changed its GENERATED"
                + " ALWAYS identity column " + columns + " (SET ... = DEFAULT), which the other nodes cannot assign;"
                + " declare the column GENERATED BY DEFAULT to change it", "0A000");
    }

    /** Runs one statement outside any batch (the batch before it flushed), timed for the lock watch like a batch. */
    private int executeAlone(PreparedStatement ps, Target t) throws SQLException {
        try {
            return timed(ps::executeUpdate);
        } catch (SQLException e) {
            throw failedIn(t, e);
        }
    }

    /** A statement that may wait for a lock. */
    private interface Timed<T> {
        T run() throws SQLException;
    }

    /** Runs a statement that may wait for a lock, timed for the lock watch ({@link #busyFor}). */
    private <T> T timed(Timed<T> call) throws SQLException {
        busySince = System.nanoTime();
        try {
            return call.run();
        } finally {
            busySince = 0;
        }
    }

    /** {@code monotonic_sequences}: remembers the values written into columns a sequence feeds. */
    private void noteSequenceValues(Target t, TupleData row) {
        if (!monotonicSequences) {
            return;
        }
        for (int i = 0; i < row.size(); i++) {
            if (t.sequences[i] != null && row.kind(i) == TupleData.TEXT) {
                sequenceFloors.written(t.sequences[i], row.text(i));
            }
        }
    }

    /**
     * The last rows of the transaction, then (with {@code monotonic_sequences}) this node's sequences moved above
     * what it wrote, before it is prepared or committed here: the origin acknowledges its commit only after.
     */
    private void finishRows() throws SQLException {
        flush();
        if (sequenceFloors.isEmpty()) {
            return;
        }
        String advance = sequenceFloors.advanceSql();
        sequenceFloors.clear();
        statement.execute(advance);
    }

    private static boolean sameValue(TupleData a, TupleData b, int i) {
        if (a == b) {
            return true;
        }
        if (a.isNull(i) || b.isNull(i)) {
            return a.isNull(i) && b.isNull(i);
        }
        return a.kind(i) == TupleData.TEXT && b.kind(i) == TupleData.TEXT && a.text(i).equals(b.text(i));
    }

    void delete(Target t, Delete d) throws SQLException {
        TupleData old = d.oldTuple();
        BitSet where = identityColumns(t, old, d.oldKind(), "DELETE");
        BitSet nulls = nulls(old, where);
        Shape shape = new Shape('D', null, where, nulls, null);
        PreparedStatement ps = t.statement(shape);
        if (ps == null) {
            ps = connection.prepareStatement(Sql.delete(t, where, nulls));
            t.remember(shape, ps);
        }
        bindIdentity(ps, 1, t, old, where, nulls);
        add(ps, t, "DELETE");
    }

    void truncate(List<Target> truncated, boolean restartIdentity, boolean cascade) throws SQLException {
        flush();
        // always CASCADE: the origin's TRUNCATE succeeded, so every table referencing one of these was truncated
        // with it — but pgoutput lists only tables with storage: a partitioned table whose foreign key references
        // one of them is missing, and without CASCADE the check of that key fails here alone
        timed(() -> statement.execute(Sql.truncate(truncated, restartIdentity, true)));
    }

    /**
     * Runs a replicated DDL statement with the origin session's search_path, role and carried settings (reset
     * afterwards, for this transaction only), gives tables left without a primary key REPLICA IDENTITY
     * FULL as the origin's gateway did, then forgets every target: the statement may have changed the
     * local column types the cached statements were built with.
     */
    String executeDdl(ReplicatedDdl ddl) throws SQLException {
        return executeDdl(ddl, ddl.encode());
    }

    /**
     * {@link #executeDdl(ReplicatedDdl)}, bracketed in this node's WAL by the same {@code mtm.ddl} message
     * ({@code content}, as the origin logged it) and an {@code mtm.ddl_end}: a node recovering from this one
     * reads this transaction in its WAL, re-executes the statement and skips the rows it produced.
     */
    String executeDdl(ReplicatedDdl ddl, byte[] content) throws SQLException {
        flush();
        emit(ReplicatedDdl.PREFIX, content);
        String ownSettings = ddl.settings().isEmpty() ? null : carrySettings(ddl.settings());
        setSession(ddl.searchPath(), ddl.role() == null || ddl.role().isEmpty() ? "none" : ddl.role());
        // the origin checked the function bodies (or its session chose not to): here a body may name what exists on
        // the origin only — a temporary table's stand-in — and the check would fail on this node alone
        statement.execute("SET LOCAL check_function_bodies = off");
        String carried = timed(() -> {
            boolean existed = ddl.carriesRows() && relationExists(ddl.created());
            statement.execute(ddl.statement());
            return ddl.carriesRows() && !existed ? emptyCreated(ddl.created()) : null;
        });
        setSession("", "none");
        if (ownSettings != null) {
            carrySettings(ownSettings);
        }
        emit(ReplicatedDdl.END_PREFIX, new byte[0]);
        if (replicaIdentityUpkeep) {
            timed(() -> {
                statement.executeQuery("SELECT pg_catalog.count(*) FROM mtm.ensure_replica_identity()").close();
                return null;
            });
        }
        forgetTargets();
        return carried;
    }

    /** A value or digest a DDL statement's bracket carries: {@link #checkRewrittenRows}, else {@link #executeCarriedValue}. */
    void executeCarried(String prefix, byte[] content, int origin, boolean enforce) throws SQLException {
        if (ReplicatedDdl.CHECK_PREFIX.equals(prefix)) {
            checkRewrittenRows(content, origin, enforce);
        } else {
            executeCarriedValue(content);
        }
    }

    /**
     * Runs a {@link ReplicatedDdl#VALUE_PREFIX} statement (the values the origin gave the rows already there in columns
     * the DDL statement added) with the settings its literals were written in, logged again in this node's WAL by the
     * same message for nodes that recover from this one. An UPDATE's row changes are decoded, unlike a rewrite's: an
     * empty message of the prefix follows them, and a node recovering from this one skips them ({@link
     * #setsRows}), since it runs the statement itself. An empty message sets nothing.
     */
    void executeCarriedValue(byte[] content) throws SQLException {
        if (content.length == 0) {
            return;
        }
        flush();
        emit(ReplicatedDdl.VALUE_PREFIX, content);
        String own = carrySettings(ReplicatedDdl.VALUE_SETTINGS);
        timed(() -> statement.execute(new String(content, java.nio.charset.StandardCharsets.UTF_8)));
        carrySettings(own);
        if (setsRows(content)) {
            emit(ReplicatedDdl.VALUE_PREFIX, new byte[0]);
        }
        forgetTargets();
    }

    /** Whether a {@link ReplicatedDdl#VALUE_PREFIX} statement writes row changes: each row's values, an UPDATE. */
    static boolean setsRows(byte[] content) {
        byte[] update = "UPDATE ".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        return content.length >= update.length
                && java.util.Arrays.equals(content, 0, update.length, update, 0, update.length);
    }

    /**
     * Compares this node's digest of a table the DDL statement just rewrote with the origin's
     * ({@link ReplicatedDdl#CHECK_PREFIX}); logged again in this node's WAL for nodes that recover from this one.
     *
     * @param enforce whether a difference refuses the transaction: this node votes on it (a 3PC transaction it
     *                prepares). A transaction the cluster committed already (recovery, catch-up, a plain commit) is
     *                applied all the same, with a warning: refusing it here would only stop this node.
     * @throws SQLException 0A000 when they differ and {@code enforce}: the statement computed other values here than
     *                      on the origin
     */
    void checkRewrittenRows(byte[] content, int origin, boolean enforce) throws SQLException {
        flush();
        String text = new String(content, java.nio.charset.StandardCharsets.UTF_8);
        int nl = text.indexOf('\n');
        if (nl < 0) {
            throw new SQLException("malformed " + ReplicatedDdl.CHECK_PREFIX + " message from node " + origin + ": " + text, "XX000");
        }
        String table = text.substring(0, nl);
        emit(ReplicatedDdl.CHECK_PREFIX, content);
        String own = timed(() -> {
            try (PreparedStatement ps = connection.prepareStatement("SELECT mtm.rows_digest(pg_catalog.to_regclass(?))")) {
                ps.setString(1, table);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getString(1);
                }
            }
        });
        if (!text.substring(nl + 1).equals(own)) {
            if (!enforce) {
                LOG.warn("node {}: table {} after a DDL statement of node {} that the cluster committed differs from the"
                        + " origin's (digest {} here, {} there): the statement computed values that depend on the node",
                        self, table, origin, own, text.substring(nl + 1));
                return;
            }
            throw new SQLException("[multimaster] the DDL statement gave the rows of table " + table + " other values on this"
                    + " node than on node " + origin + ", where it was run: an expression of it (ALTER COLUMN ... TYPE ..."
                    + " USING, a default) depends on the node or the moment (now(), random(), clock_timestamp(), a"
                    + " setting), or writes dates as text in a DateStyle other than ISO, which the other nodes cannot"
                    + " take. Compute the values with an UPDATE instead, which replicates the rows as they are.",
                    "0A000");
        }
    }

    private boolean relationExists(String name) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_catalog.to_regclass(?) IS NOT NULL")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /**
     * The table a CREATE TABLE ... AS / SELECT ... INTO just created here holds the rows this node computed: emptied,
     * so that the origin's rows, which follow, are the only ones. Returns its {@code schema.name} (unquoted, as
     * {@link Relation#schema()} and name give it), or null when the statement created nothing (IF NOT EXISTS).
     */
    private String emptyCreated(String name) throws SQLException {
        String schema;
        String relation;
        try (PreparedStatement ps = connection.prepareStatement("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass(?)")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                schema = rs.getString(1);
                relation = rs.getString(2);
            }
        }
        statement.execute("TRUNCATE ONLY " + Sql.quoteIdent(schema) + '.' + Sql.quoteIdent(relation));
        return schema + '.' + relation;
    }

    private void emit(String prefix, byte[] content) throws SQLException {
        emitMessage.setString(1, prefix);
        emitMessage.setBytes(2, content);
        emitMessage.executeQuery().close();
    }

    /**
     * Sets the origin session's {@link ReplicatedDdl#CARRIED_SETTINGS} ({@code json}: name → value) for this
     * transaction and returns this session's values of them, to set back after the statement. A setting this
     * PostgreSQL does not have (a newer major's) is left out.
     */
    private String carrySettings(String json) throws SQLException {
        String own;
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_catalog.json_object_agg(k,"
                + " pg_catalog.current_setting(k))::pg_catalog.text FROM pg_catalog.json_object_keys(?::pg_catalog.json) AS k"
                + " WHERE pg_catalog.current_setting(k, true) IS NOT NULL")) {
            ps.setString(1, json);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                own = rs.getString(1);
            }
        }
        // pgjdbc drops a connection whose DateStyle does not begin with ISO; only the field order (MDY, DMY, YMD)
        // changes how a DDL text's dates are read, so the output part stays ISO
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_catalog.count(pg_catalog.set_config(s.k,"
                + " CASE WHEN pg_catalog.lower(s.k) = 'datestyle' THEN 'ISO, ' OPERATOR(pg_catalog.||)"
                + " pg_catalog.btrim(pg_catalog.split_part(s.v, ',', 2)) ELSE s.v END, true))"
                + " FROM pg_catalog.json_each_text(?::pg_catalog.json) AS s(k, v)"
                + " WHERE pg_catalog.current_setting(s.k, true) IS NOT NULL")) {
            ps.setString(1, json);
            ps.executeQuery().close();
        }
        return own == null ? "{}" : own;
    }

    private void setSession(String searchPath, String role) throws SQLException {
        sessionSettings.setString(1, searchPath == null ? "" : searchPath);
        sessionSettings.setString(2, role);
        sessionSettings.executeQuery().close();
    }

    /** The relation the pending or last statement changed, for error messages. */
    String currentRelation() {
        if (inserts != null) {
            return inserts.target.displayName();
        }
        return batchTarget == null ? null : batchTarget.displayName();
    }

    /**
     * The relation whose batch failed last in this transaction (null: none). A batch runs when the next
     * statement differs, so a lock wait that fails there belongs to the batch's relation, not the next one.
     */
    String failedRelation() {
        return failedRelation;
    }

    private BitSet identityColumns(Target t, TupleData old, OldTupleKind kind, String operation) throws SQLException {
        BitSet where = new BitSet(old.size());
        if (t.fullIdentity()) {
            if (kind != OldTupleKind.FULL) {
                throw new SQLException(operation + " of relation " + t.displayName() + " (REPLICA IDENTITY FULL) arrived without"
                        + " the old row; the origin's replica identity differs from its relation message", "XX000");
            }
            for (int i = 0; i < old.size(); i++) {
                if (!old.isUnchangedToast(i)) {
                    where.set(i);
                }
            }
        } else {
            for (int k : t.keyColumns) {
                if (old.isUnchangedToast(k)) {
                    throw new SQLException(operation + " of relation " + t.displayName() + ": key column " + t.columns[k]
                            + " arrived as an unchanged TOAST value, so the row cannot be found", "XX000");
                }
                where.set(k);
            }
        }
        if (where.isEmpty()) {
            throw new SQLException(operation + " of relation " + t.displayName() + " of node " + peer + " cannot be applied on"
                    + " node " + self + ": the table has no replica identity (add a primary key, or set REPLICA IDENTITY FULL)",
                    "55000");
        }
        return where;
    }

    private static BitSet nulls(TupleData old, BitSet where) {
        BitSet nulls = new BitSet(old.size());
        for (int i = where.nextSetBit(0); i >= 0; i = where.nextSetBit(i + 1)) {
            if (old.isNull(i)) {
                nulls.set(i);
            }
        }
        return nulls;
    }

    private int bindIdentity(PreparedStatement ps, int p, Target t, TupleData old, BitSet where, BitSet nulls)
            throws SQLException {
        for (int i = where.nextSetBit(0); i >= 0; i = where.nextSetBit(i + 1)) {
            if (!nulls.get(i)) {
                p = bind(ps, p, t, old, i, "row identity");
            }
        }
        return p;
    }

    /** Binds a value as text of unspecified type (null: NULL): the column's type parses it. */
    private static void bindText(PreparedStatement ps, int p, String value) throws SQLException {
        if (value == null) {
            ps.setNull(p, Types.OTHER);
        } else {
            ps.setObject(p, value, Types.OTHER);
        }
    }

    /** A column's value as text (null: NULL), as {@link #bind} binds it. */
    private static String value(Target t, TupleData row, int i, String what) throws SQLException {
        switch (row.kind(i)) {
            case TupleData.NULL:
                return null;
            case TupleData.TEXT:
                return row.text(i);
            case TupleData.UNCHANGED_TOAST:
                throw new SQLException(what + " of relation " + t.displayName() + ": column " + t.columns[i]
                        + " arrived as an unchanged TOAST value where a value is needed", "XX000");
            default:
                throw new SQLException(what + " of relation " + t.displayName() + ": column " + t.columns[i]
                        + " arrived in binary format, which this applier does not request", "XX000");
        }
    }

    private int bind(PreparedStatement ps, int p, Target t, TupleData row, int i, String what) throws SQLException {
        bindText(ps, p, value(t, row, i, what));
        return p + 1;
    }

    // ---- batching ------------------------------------------------------------------------------------

    private void add(PreparedStatement ps, Target t, String operation) throws SQLException {
        if (inserts != null) {
            flushInserts();
        }
        if (batch != null && batch != ps) {
            flush();
        }
        ps.addBatch();
        batch = ps;
        batchTarget = t;
        batchOperation = operation;
        if (++batchSize >= MAX_BATCH) {
            flush();
        }
    }

    /**
     * Executes the pending batch.
     *
     * @throws RowMissingException when an UPDATE or DELETE matched no row (the rest of the batch ran)
     */
    void flush() throws SQLException {
        if (inserts != null) {
            flushInserts();
        }
        if (batch == null) {
            return;
        }
        PreparedStatement ps = batch;
        String operation = batchOperation;
        batch = null;
        batchSize = 0;
        int[] counts;
        try {
            counts = timed(ps::executeBatch);
        } catch (SQLException e) {
            throw failedIn(batchTarget, e);
        }
        if (operation != null) {
            for (int c : counts) {
                if (c == 0) {
                    throw new RowMissingException(operation, batchTarget.displayName(), self);
                }
            }
        }
    }

    /**
     * Executes the pending run of INSERTs ({@link InsertRun}): as one COPY when it is long, else as a batch of the
     * relation's prepared INSERT.
     */
    private void flushInserts() throws SQLException {
        InsertRun run = inserts;
        inserts = null;
        Target t = run.target;
        busySince = System.nanoTime();
        try {
            if (run.byCopy()) {
                connection.unwrap(org.postgresql.PGConnection.class).getCopyAPI()
                        .copyIn(InsertRun.copySql(t), new java.io.ByteArrayInputStream(run.copyData()));
                return;
            }
            PreparedStatement ps = insertStatement(t);
            for (String[] values : run.rows()) {
                for (int i = 0; i < values.length; i++) {
                    bindText(ps, i + 1, values[i]);
                }
                ps.addBatch();
            }
            ps.executeBatch();
        } catch (SQLException e) {
            throw failedIn(t, e);
        } catch (java.io.IOException e) {
            throw failedIn(t, new SQLException("COPY into relation " + t.displayName() + " failed: " + e.getMessage(),
                    "08006", e));
        } finally {
            busySince = 0;
        }
    }

    /** Notes the relation whose statement failed (for the no-vote's message); the server's error of a batch. */
    private SQLException failedIn(Target t, SQLException e) {
        failedRelation = t.displayName();
        SQLException cause = e instanceof BatchUpdateException ? e.getNextException() : null;
        return cause != null ? cause : e;
    }

    private void discardBatch() {
        inserts = null;
        if (batch != null) {
            try {
                batch.clearBatch();
            } catch (SQLException e) {
                // the connection is broken; the rollback that follows reports it
            }
        }
        batch = null;
        batchSize = 0;
    }

    /** Runs a multi-statement string (one round trip) and returns its first result set. */
    /** The result set after the first one of {@code sql} (which is passed over). */
    private ResultSet secondResultSet(String sql) throws SQLException {
        firstResultSet(sql);
        boolean isResult = statement.getMoreResults();
        while (!isResult) {
            if (statement.getUpdateCount() == -1) {
                throw new SQLException("no second result set from: " + sql, "XX000");
            }
            isResult = statement.getMoreResults();
        }
        return statement.getResultSet();
    }

    private ResultSet firstResultSet(String sql) throws SQLException {
        boolean isResult = statement.execute(sql);
        while (!isResult) {
            if (statement.getUpdateCount() == -1) {
                throw new SQLException("no result set from: " + sql, "XX000");
            }
            isResult = statement.getMoreResults();
        }
        return statement.getResultSet();
    }

    // ---- stopping ------------------------------------------------------------------------------------

    /**
     * Cancels backend {@code pid} (another apply session) if it waits for a lock right now; nothing when it
     * runs or is idle, so a cancellation cannot hit a later statement of another transaction.
     */
    void cancelIfWaitingForLock(int pid) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_catalog.pg_cancel_backend(pid)"
                + " FROM pg_catalog.pg_stat_activity WHERE pid = ? AND wait_event_type = 'Lock'")) {
            ps.setInt(1, pid);
            ps.executeQuery().close();
        }
    }

    /**
     * Cancels the running statement (from another thread) because the receiver stops or reconnects: a lock
     * wait ends now instead of at its bound, and the apply does not take the cancellation for a conflict.
     */
    void cancel() {
        closing = true;
        try {
            connection.unwrap(PGConnection.class).cancelQuery();
        } catch (SQLException e) {
            // nothing running, or the connection is already gone
        }
    }

    /** True once {@link #cancel()} was called: the session is being closed. */
    boolean closing() {
        return closing;
    }

    /** Closes the connection's socket (from another thread); an open transaction is rolled back by the server. */
    void abort() {
        try {
            connection.abort(Runnable::run);
        } catch (SQLException e) {
            // already closed
        }
    }

    @Override
    public void close() {
        for (Target t : targets.values()) {
            t.close();
        }
        targets.clear();
        try {
            connection.close();
        } catch (SQLException e) {
            // closing a broken connection: nothing left to release
        }
    }

    /** Statement shape of an UPDATE or DELETE: which columns are set, matched, matched as NULL, and guarded. */
    private record Shape(char operation, BitSet set, BitSet where, BitSet nulls, BitSet guard) {
    }
}
