package org.mtm.gateway.internal.commit;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What a transaction did, as far as its commit is concerned (DESIGN §2 and its hard points): whether it has an
 * xid (no xid: read-only, commits locally), and whether it touched temporary objects or ran LISTEN/UNLISTEN/
 * NOTIFY — PostgreSQL refuses PREPARE TRANSACTION for those, and a failed PREPARE rolls back — together with
 * whether it changed anything the cluster replicates. {@link #route()} decides:
 * <ul>
 * <li>no xid → commit locally;</li>
 * <li>nothing replicated changed (only temporary or unlogged objects, local utility statements) → commit
 * locally: there is nothing for the other nodes;</li>
 * <li>no temporary objects, no LISTEN/NOTIFY → the cluster's commit (PREPARE, votes, COMMIT PREPARED);</li>
 * <li>temporary objects or LISTEN/NOTIFY and a replicated change → refused (0A000) and rolled back: the
 * transaction can be neither prepared nor committed on this node alone. Nothing is half-committed.</li>
 * </ul>
 * Found in one cheap query on every commit ({@link #QUICK_SQL}: xid, whether the session has a temporary schema
 * at all, isolation level; trivial to plan, so it needs no prepared statement of the gateway's in the session)
 * and, only for transactions with an xid that may have changed replicated data, a second one over this backend's
 * relation locks ({@link #LOCKS_SQL}).
 *
 * @param xid             the transaction's xid, null when none was assigned
 * @param serializable    isolation level SERIALIZABLE (its COMMIT can fail even without writes)
 * @param temporary       it touched temporary relations (locks on them, or temporary DDL the gateway saw)
 * @param replicatedWrite it may have changed replicated data: the gateway saw such statements ({@link Notes}) and,
 *                        when the locks were looked at, it took a writer's lock on a permanent user table or ran
 *                        global DDL
 * @param notifies        it ran LISTEN, UNLISTEN or NOTIFY (as the gateway saw the statements)
 * @param largeObjects    it wrote large objects (lo_create, lo_import, lowrite, lo_unlink, ...): rows of the catalogs
 *                        pg_largeobject / pg_largeobject_metadata, which logical decoding never carries to the peers
 * @param unseenTable     a permanent table (or materialized view) this transaction created without the gateway having
 *                        announced DDL — made by a statement no event trigger reports (EXPLAIN ANALYZE of CREATE TABLE
 *                        ... AS / SELECT ... INTO inside a DO block or function): its name, or null. It would exist on
 *                        this node only, and the peers could not apply its rows
 */
public record Footprint(Long xid, boolean serializable, boolean temporary, boolean replicatedWrite, boolean notifies,
                        boolean largeObjects, String unseenTable) {

    public Footprint(Long xid, boolean serializable, boolean temporary, boolean replicatedWrite, boolean notifies) {
        this(xid, serializable, temporary, replicatedWrite, notifies, false, null);
    }

    public Footprint(Long xid, boolean serializable, boolean temporary, boolean replicatedWrite, boolean notifies,
                     boolean largeObjects) {
        this(xid, serializable, temporary, replicatedWrite, notifies, largeObjects, null);
    }

    /**
     * Xid, whether this session ever created a temporary schema, isolation level. Planned in microseconds: a
     * read-only transaction (no xid) needs nothing else. A transaction can have an xid and still nothing to
     * replicate (SELECT ... FOR UPDATE, nextval): logical decoding then carries no PREPARE to the peers, so such
     * a transaction must commit locally, not wait for votes that never come — {@link #LOCKS_SQL} tells.
     */
    public static final String QUICK_SQL = "SELECT pg_catalog.pg_current_xact_id_if_assigned()::pg_catalog.text, "
            + "pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0, "
            + "pg_catalog.current_setting('transaction_isolation'), "
            + "CASE WHEN pg_catalog.pg_current_xact_id_if_assigned() IS NULL THEN false ELSE " + Footprint.LARGE_OBJECT_WRITES
            + " END";

    /**
     * Rows this transaction inserted, updated or deleted in the large-object catalogs (the statistics of the current
     * transaction count catalog writes too, whichever function or fast-path call made them).
     */
    static final String LARGE_OBJECT_WRITES = "(SELECT pg_catalog.sum(pg_catalog.pg_stat_get_xact_tuples_inserted(r) "
            + "OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_xact_tuples_updated(r) "
            + "OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_xact_tuples_deleted(r)) OPERATOR(pg_catalog.>) 0 "
            + "FROM pg_catalog.unnest(ARRAY['pg_catalog.pg_largeobject'::pg_catalog.regclass, "
            + "'pg_catalog.pg_largeobject_metadata'::pg_catalog.regclass]) AS r)";

    /**
     * A lock that means a replicated change: a writer's lock on a permanent user table (or mtm.local_tables). A user
     * table is what pgoutput publishes: an oid from FirstNormalObjectId (16384) on, in whatever schema — a user's
     * table moved into pg_catalog is still decoded and sent, so its writes must be committed by the cluster too.
     */
    static final String WRITER_LOCK = "c.relpersistence = 'p' AND c.relkind IN ('r', 'p') "
            + "AND l.mode IN ('RowExclusiveLock', 'AccessExclusiveLock') "
            + "AND c.oid OPERATOR(pg_catalog.>=) 16384 "
            + "AND NOT (n.nspname = 'mtm' AND c.relname OPERATOR(pg_catalog.<>) 'local_tables')";

    /**
     * A relation of the lock's row ({@code c}) that this transaction created: a permanent table or materialized view
     * held in AccessExclusiveLock whose row type was written by this transaction — its xmin is this transaction's xid
     * or one of its subtransactions' (age() &lt;= 0: not older than the top-level xid) and still in progress (another
     * transaction's creation would be invisible, or would hold the lock itself). A TRUNCATE or LOCK does not write the
     * row type. Not asked of a transaction with DDL the gateway announced ({@link #of}): that DDL may have made it.
     */
    static final String CREATED_HERE = "c.relpersistence = 'p' AND c.relkind IN ('r', 'p', 'm') "
            + "AND l.mode = 'AccessExclusiveLock' AND c.oid OPERATOR(pg_catalog.>=) 16384 "
            + "AND pg_catalog.age((SELECT t.xmin FROM pg_catalog.pg_type t WHERE t.oid = c.reltype)) OPERATOR(pg_catalog.<=) 0 "
            + "AND pg_catalog.pg_xact_status((pg_catalog.pg_current_xact_id()::pg_catalog.text::bigint OPERATOR(pg_catalog.-) "
            + "pg_catalog.age((SELECT t.xmin FROM pg_catalog.pg_type t WHERE t.oid = c.reltype)))::pg_catalog.text::pg_catalog.xid8) "
            + "= 'in progress'";

    /**
     * The three answers over this backend's relation locks, as {@link Locks#ofArray} reads them; the third only says
     * whether this transaction inserted catalog rows of types (every new table has its row type), from the
     * transaction's statistics: cheap, and false for almost every commit. Only then is {@link #UNSEEN_SQL} asked.
     */
    private static final String LOCK_ANSWERS = "COALESCE(pg_catalog.bool_or(c.relpersistence = 't'), false)::pg_catalog.text, "
            + "COALESCE(pg_catalog.bool_or(" + Footprint.WRITER_LOCK + "), false)::pg_catalog.text, "
            + "(pg_catalog.pg_stat_get_xact_tuples_inserted('pg_catalog.pg_type'::pg_catalog.regclass) "
            + "OPERATOR(pg_catalog.>) 0)::pg_catalog.text";
    private static final String LOCKS_FROM = " FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation "
            + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            + "WHERE l.locktype = 'relation' AND l.pid = pg_catalog.pg_backend_pid()";

    /** The table this transaction created unseen ({@link #CREATED_HERE}), or null. */
    static final String UNSEEN_SQL = "SELECT pg_catalog.min(c.oid::pg_catalog.regclass::pg_catalog.text) " + LOCKS_FROM
            + " AND " + CREATED_HERE;

    /**
     * Over this backend's relation locks: touched a temporary relation; took a writer's lock (RowExclusive:
     * INSERT/UPDATE/DELETE/MERGE/COPY; AccessExclusive: TRUNCATE, DDL) on a permanent table outside the
     * catalogs and the mtm schema (mtm.local_tables excepted: make_table_local is replicated); created types (a
     * table may have been created unseen: {@link #UNSEEN_SQL}). Catalog writes release their locks at once, so DDL is
     * not seen here: the gateway knows it from the DDL messages it emitted.
     */
    public static final String LOCKS_SQL = "SELECT " + LOCK_ANSWERS + LOCKS_FROM;

    /**
     * {@link #QUICK_SQL} and, only when the transaction has an xid, {@link #LOCKS_SQL} in the same statement (a fifth
     * column: its answers as a {@code text[]}, null without an xid): one round trip on the commit path instead of
     * two, for a commit whose quick query was not sent ahead and whose locks will be looked at ({@link #quickSql}).
     * The scan is an uncorrelated subquery in a CASE branch: PostgreSQL runs it only when that branch is taken.
     */
    public static final String QUICK_WITH_LOCKS_SQL = QUICK_SQL
            + ", CASE WHEN pg_catalog.pg_current_xact_id_if_assigned() IS NULL THEN NULL ELSE (SELECT ARRAY["
            + LOCK_ANSWERS + "]" + LOCKS_FROM + ") END";

    /**
     * The query that starts a commit's footprint, asked at COMMIT (not sent ahead): with the locks when {@link #of}
     * would look at them for a transaction with an xid — the gateway saw statements that may change replicated data
     * and no logged DDL, which tells by itself.
     */
    public static String quickSql(Notes notes) {
        return quickAsksLocks(notes) ? QUICK_WITH_LOCKS_SQL : QUICK_SQL;
    }

    /** Whether the quick query asked at COMMIT brings the lock answers along ({@link #quickSql}). */
    static boolean quickAsksLocks(Notes notes) {
        return notes.replicates() && !notes.ddl();
    }

    /**
     * Written just before PREPARE TRANSACTION of every transaction the cluster commits. PostgreSQL's decoder sends
     * nothing at all for a prepared transaction without decodable changes (writes to unlogged tables only,
     * nextval() only, row locks only, catalog changes from functions): without this message the peers would
     * never see the PREPARE, never vote, and the commit would wait forever. The appliers ignore the message
     * itself; the peers prepare an empty transaction and vote.
     */
    public static final String PREPARE_MARK_SQL = "SELECT pg_catalog.pg_logical_emit_message(true, 'mtm.prepare', "
            + "''::pg_catalog.bytea)";

    /**
     * The mark and PREPARE TRANSACTION, sent together (one round trip): the PREPARE's result, or a failure when
     * the mark failed or PREPARE did not prepare (in a failed transaction it answers ROLLBACK without an error).
     */
    public static CompletionStage<QueryResult> prepare(CommitContext tx, String gidLiteral) {
        CompletionStage<QueryResult> mark = tx.execute(PREPARE_MARK_SQL);
        CompletionStage<QueryResult> prepare = tx.execute("PREPARE TRANSACTION " + gidLiteral);
        return mark.thenCombine(prepare, (m, p) -> {
            if (!m.ok()) {
                return new QueryResult(null, List.of(), m.error(), List.of(), p.transactionStatus());
            }
            if (p.ok() && !"PREPARE TRANSACTION".equals(p.commandTag())) {
                return new QueryResult(null, List.of(), ServerError.error(SqlStates.INTERNAL_ERROR,
                        "[multimaster] PREPARE TRANSACTION " + gidLiteral + " did not prepare (" + p.commandTag()
                                + "); the transaction was rolled back"), List.of(), p.transactionStatus());
            }
            return p;
        });
    }

    /** How the transaction commits. */
    public enum Route { LOCAL, CLUSTER, REFUSE }

    /**
     * The result of {@link #QUICK_SQL}, or of {@link #QUICK_WITH_LOCKS_SQL}: then {@code locks} holds what
     * {@link #LOCKS_SQL} would answer (null: not asked, or no xid).
     */
    public record Quick(Long xid, boolean temporarySchema, boolean serializable, boolean largeObjects, Locks locks) {
        public Quick(Long xid, boolean temporarySchema, boolean serializable) {
            this(xid, temporarySchema, serializable, false, null);
        }

        public Quick(Long xid, boolean temporarySchema, boolean serializable, boolean largeObjects) {
            this(xid, temporarySchema, serializable, largeObjects, null);
        }

        public static Quick of(QueryResult r) {
            if (!r.ok() || r.rows().isEmpty()) {
                throw new IllegalStateException("the transaction's xid could not be read: "
                        + (r.ok() ? "no row" : r.error()));
            }
            var row = r.rows().get(0);
            Locks locks = row.size() > 4 && row.get(4) != null ? Locks.ofArray(row.get(4)) : null;
            return new Quick(row.get(0) == null ? null : Long.valueOf(row.get(0)), "t".equals(row.get(1)),
                    "serializable".equals(row.get(2)), row.size() > 3 && "t".equals(row.get(3)), locks);
        }
    }

    /**
     * What {@link #LOCKS_SQL} tells: a temporary relation was touched; a writer's lock on a replicated table is held;
     * the transaction inserted catalog rows of types (it may have created a table unseen).
     */
    public record Locks(boolean temporary, boolean replicatedWrite, boolean createdTypes) {
        public Locks(boolean temporary, boolean replicatedWrite) {
            this(temporary, replicatedWrite, false);
        }

        /** From the text form of the {@code text[]} of {@link #QUICK_WITH_LOCKS_SQL}, e.g. {@code {false,true,false}}. */
        static Locks ofArray(String array) {
            String[] flags = array.replaceAll("[{}]", "").split(",");
            if (flags.length < 2 || flags.length > 3) {
                throw new IllegalStateException("the transaction's locks could not be read: " + array);
            }
            return new Locks(flag(flags[0]), flag(flags[1]), flags.length > 2 && flag(flags[2]));
        }

        static boolean flag(String text) {
            return text != null && (text.trim().equals("t") || text.trim().equals("true"));
        }
    }

    /**
     * What the gateway saw of a transaction's statements.
     *
     * @param replicates a statement that may change replicated data ran (DML, SELECT — functions can write —,
     *                   CALL, DO, COPY, a function call message, logged global DDL). False only when every
     *                   statement was one that cannot: SET/SHOW, local utility statements, DDL on temporary or
     *                   unlogged objects
     * @param notifies   LISTEN, UNLISTEN or NOTIFY ran
     * @param ddl        global DDL was logged
     * @param temporary  DDL on temporary objects ran
     */
    public record Notes(boolean replicates, boolean notifies, boolean ddl, boolean temporary) {
        /** Nothing known: anything may have happened. */
        public static final Notes UNKNOWN = new Notes(true, false, false, false);
    }

    /**
     * Completes the footprint from the quick query's result and the gateway's {@link Notes}. Runs
     * {@link #LOCKS_SQL} only when it matters: an xid, something replicated may have changed, and it is not
     * known yet whether it did (logged global DDL did) or whether temporary objects were touched.
     */
    public static CompletionStage<Footprint> of(CommitContext tx, Quick q, Notes notes) {
        if (q.xid() == null || !notes.replicates()) {
            return CompletableFuture.completedFuture(new Footprint(q.xid(), q.serializable(), notes.temporary(),
                    false, notes.notifies(), q.largeObjects()));
        }
        if (notes.ddl() && !q.temporarySchema() && !notes.notifies() && !notes.temporary()) {
            return CompletableFuture.completedFuture(new Footprint(q.xid(), q.serializable(), false, true, false,
                    q.largeObjects()));
        }
        if (q.locks() != null) { // asked together with the quick query
            return unseen(tx, notes, q.locks().createdTypes()).thenApply(unseen -> new Footprint(q.xid(), q.serializable(),
                    notes.temporary() || q.locks().temporary(), notes.ddl() || q.locks().replicatedWrite(), notes.notifies(),
                    q.largeObjects(), unseen));
        }
        return tx.execute(tx.footprintQueries().locks()).thenCompose(r -> {
            if (!r.ok() || r.rows().isEmpty()) {
                throw new IllegalStateException("the transaction's locks could not be read: " + (r.ok() ? "no row" : r.error()));
            }
            var row = r.rows().get(0);
            return unseen(tx, notes, row.size() > 2 && Locks.flag(row.get(2))).thenApply(unseen -> new Footprint(q.xid(),
                    q.serializable(), notes.temporary() || Locks.flag(row.get(0)), notes.ddl() || Locks.flag(row.get(1)),
                    notes.notifies(), q.largeObjects(), unseen));
        });
    }

    /**
     * The table this transaction created unseen, asked only when it created types without DDL the gateway announced
     * (announced DDL may have made it; a temporary table makes types too).
     */
    private static CompletionStage<String> unseen(CommitContext tx, Notes notes, boolean createdTypes) {
        if (notes.ddl() || !createdTypes) {
            return CompletableFuture.completedFuture(null);
        }
        return tx.execute(UNSEEN_SQL).thenApply(r -> {
            if (!r.ok() || r.rows().isEmpty()) {
                throw new IllegalStateException("the tables this transaction created could not be read: "
                        + (r.ok() ? "no row" : r.error()));
            }
            return r.rows().get(0).get(0);
        });
    }

    public Route route() {
        if (xid != null && (largeObjects || unseenTable != null)) {
            return Route.REFUSE; // committed here alone, the nodes would hold different large objects
        }
        if (xid == null || !replicatedWrite) {
            return Route.LOCAL;
        }
        return temporary || notifies ? Route.REFUSE : Route.CLUSTER;
    }

    /** The error of {@link Route#REFUSE}. */
    public ServerError refusal() {
        if (unseenTable != null) {
            return ServerError.error(SqlStates.FEATURE_NOT_SUPPORTED,
                    "[multimaster] table " + unseenTable + " was created by a statement the cluster did not see (EXPLAIN "
                            + "ANALYZE of CREATE TABLE ... AS or SELECT ... INTO inside a DO block or function, which no "
                            + "event trigger reports), so it would exist on this node only; the transaction was rolled back",
                    "Send the CREATE TABLE ... AS (or SELECT ... INTO) to the gateway as a statement of its own, so that "
                            + "every node creates the table.");
        }
        if (largeObjects) {
            return ServerError.error(SqlStates.FEATURE_NOT_SUPPORTED,
                    "[multimaster] large objects are not replicated: the transaction wrote a large object (lo_create, "
                            + "lo_import, lo_open for writing, lowrite, lo_put, lo_truncate, lo_unlink or pg_largeobject), "
                            + "which the other nodes would never receive; the transaction was rolled back",
                    "Store the data in a bytea (or text) column of a table: its rows are replicated.");
        }
        if (temporary) {
            return ServerError.error(SqlStates.FEATURE_NOT_SUPPORTED,
                    "[multimaster] a transaction that uses PostgreSQL's own temporary objects (temporary functions, "
                            + "types, operators, SELECT ... INTO TEMP tables) cannot also change replicated tables: the "
                            + "cluster commits through PREPARE TRANSACTION, which PostgreSQL refuses for a transaction "
                            + "that touched temporary objects; the transaction was rolled back",
                    "CREATE TEMP TABLE, SEQUENCE and VIEW work in such transactions (node-local stand-ins); commit the "
                            + "other temporary work separately, in a transaction that changes no replicated table.");
        }
        return ServerError.error(SqlStates.FEATURE_NOT_SUPPORTED,
                "[multimaster] a transaction that ran LISTEN, UNLISTEN or NOTIFY cannot also change replicated tables: "
                        + "the cluster commits through PREPARE TRANSACTION, which PostgreSQL refuses for such a "
                        + "transaction; the transaction was rolled back",
                "Run LISTEN, UNLISTEN and NOTIFY in a transaction of their own.");
    }

    /**
     * A PREPARE TRANSACTION that PostgreSQL refused as unsupported (what the checks above could not see:
     * temporary functions or types, a dropped temporary table, pg_notify(), WITH HOLD cursors, exported
     * snapshots): the same kind of answer, with PostgreSQL's reason. The failed PREPARE rolled it back.
     */
    public static ServerError prepareRefused(ServerError e) {
        if (!SqlStates.FEATURE_NOT_SUPPORTED.equals(e.sqlState())) {
            return e;
        }
        return new ServerError("ERROR", SqlStates.FEATURE_NOT_SUPPORTED,
                "[multimaster] the transaction cannot be committed by the cluster: " + e.message()
                        + "; the transaction was rolled back", null,
                "Temporary objects, LISTEN/UNLISTEN/NOTIFY, WITH HOLD cursors and exported snapshots cannot be part "
                        + "of a transaction that changes replicated tables; do that work in a separate transaction.");
    }
}
