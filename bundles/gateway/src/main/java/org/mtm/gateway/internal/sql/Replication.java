package org.mtm.gateway.internal.sql;

import java.util.List;

/**
 * How one statement's effects reach the other nodes of the cluster (DESIGN §2 "DDL", manual F.31.6.1), and
 * what the gateway does about it.
 *
 * @param reach      the class of the statement
 * @param relations  for {@link Reach#GLOBAL_DDL}: the relations the statement acts on, as written (e.g.
 *                   {@code public."T"}); when every one of them is temporary or unlogged the statement is
 *                   local after all — the gateway asks the catalog when it runs the statement
 * @param sqlState   for {@link Reach#REFUSED}: the SQLSTATE of the refusal
 * @param message    for {@link Reach#REFUSED}: the error message
 * @param hint       for {@link Reach#REFUSED}: what to do instead
 * @param call       for {@link Reach#SURFACE}: the multimaster function the gateway answers itself; null when
 *                   called in a shape the gateway does not run (then sqlState, message and hint say so)
 * @param created    for {@link Reach#GLOBAL_DDL} CREATE TABLE ... AS and SELECT ... INTO: the table created, as
 *                   written; the other nodes take its rows from the origin (null otherwise)
 * @param setsSequences for {@link Reach#GLOBAL_DDL}: a SELECT that calls {@code setval()}; after it each node moves
 *                   the sequences it left outside its residue back into it ({@link SetvalCalls})
 * @param dropList   for a DROP of several relations: the statement's text before the first name and after the last
 *                   (its own text only, not the other statements of its query; null otherwise), so that the other nodes run it without the node-local ones among them
 *                   (temporary tables, stand-ins, unlogged tables), which they do not have
 * @param database   for {@link Reach#GLOBAL_DDL} on a database named in the statement (ALTER DATABASE, COMMENT ON
 *                   DATABASE, GRANT ... ON DATABASE): the name as written, null otherwise. Only the session's own
 *                   database is on every node; another one is node-local (CREATE DATABASE is local, manual F.31.6.1),
 *                   and a statement on it is local too — the gateway asks the session when it runs the statement
 * @param like       for {@link Reach#GLOBAL_DDL} CREATE TABLE ... (LIKE source): its LIKE elements and the text
 *                   around them (null otherwise). The other nodes have no source that exists on this node only (a
 *                   temporary table, a stand-in): they are given its columns written out instead
 *                   ({@code mtm.like_text})
 */
public record Replication(Reach reach, List<String> relations, String sqlState, String message, String hint,
                          SurfaceCall call, String created, boolean setsSequences, List<String> dropList,
                          String database, LikeElements like) {

    public Replication(Reach reach, List<String> relations, String sqlState, String message, String hint,
                       SurfaceCall call, String created, boolean setsSequences, List<String> dropList, String database) {
        this(reach, relations, sqlState, message, hint, call, created, setsSequences, dropList, database, null);
    }

    /** For CREATE TABLE ... (LIKE source): the sources as written, empty for other statements. */
    public List<String> copiedFrom() {
        return like == null ? List.of() : like.sources();
    }

    public Replication(Reach reach, List<String> relations, String sqlState, String message, String hint,
                       SurfaceCall call, String created, boolean setsSequences, List<String> dropList) {
        this(reach, relations, sqlState, message, hint, call, created, setsSequences, dropList, null);
    }

    public Replication(Reach reach, List<String> relations, String sqlState, String message, String hint,
                       SurfaceCall call, String created, boolean setsSequences) {
        this(reach, relations, sqlState, message, hint, call, created, setsSequences, null);
    }

    public Replication(Reach reach, List<String> relations, String sqlState, String message, String hint,
                       SurfaceCall call, String created) {
        this(reach, relations, sqlState, message, hint, call, created, false);
    }

    public Replication(Reach reach, List<String> relations, String sqlState, String message, String hint,
                       SurfaceCall call) {
        this(reach, relations, sqlState, message, hint, call, null);
    }

    public enum Reach {
        /** An ordinary statement: it may write, and its row changes replicate through the WAL stream. */
        ROWS,
        /**
         * A query that reads only, as far as its text shows ({@link ReadOnlyQueries}): treated as {@link #ROWS}
         * everywhere except that an autocommit one runs unwrapped, in a read-only transaction (a write it hides —
         * a view or an operator calling a writing function — fails with 25006 instead of committing on this node
         * alone).
         */
        READ,
        /** Cannot write anything (EXPLAIN without ANALYZE, PREPARE, FETCH, ...): needs no gateway transaction. */
        NO_WRITE,
        /**
         * Session state only (SET, RESET, SHOW, DISCARD, DEALLOCATE): cannot write, and allowed while the node
         * is not online, so that drivers can connect and a DBA can look at mtm.status().
         */
        SESSION,
        /** LISTEN, UNLISTEN, NOTIFY: local; a transaction that ran them cannot be prepared. */
        NOTIFY,
        /** Local-only (manual F.31.6.1: ALTER SYSTEM, CREATE/DROP DATABASE, REINDEX, VACUUM, ...) or unlogged objects. */
        LOCAL,
        /** Creates a temporary object: this session only. */
        TEMPORARY,
        /** Global DDL: logged as a DDL message, re-executed by every node in the same distributed transaction. */
        GLOBAL_DDL,
        /** A statement the cluster cannot run correctly: the gateway refuses it with a clear error. */
        REFUSED,
        /** A multimaster function the gateway answers itself (CREATE EXTENSION multimaster, mtm.init_cluster, ...). */
        SURFACE,
        /** Only reads mtm.status() / mtm.nodes(): allowed while the node is not online. */
        STATUS;

        /**
         * Whether a statement of this reach, run outside a transaction block, needs the gateway's own transaction
         * ({@link #READ} too: unless the gateway can run it in a read-only transaction instead).
         */
        public boolean mayWriteReplicated() {
            return this == ROWS || this == READ || this == GLOBAL_DDL;
        }
    }

    public static final Replication ROWS = of(Reach.ROWS);
    public static final Replication READ = of(Reach.READ);
    public static final Replication NO_WRITE = of(Reach.NO_WRITE);
    public static final Replication SESSION = of(Reach.SESSION);
    /** DEALLOCATE ALL, DISCARD ALL: session state, and the session's prepared statements are gone (identity). */
    public static final Replication DISCARDS_PREPARED = of(Reach.SESSION);
    public static final Replication NOTIFY = of(Reach.NOTIFY);
    public static final Replication LOCAL = of(Reach.LOCAL);
    public static final Replication TEMPORARY = of(Reach.TEMPORARY);
    public static final Replication GLOBAL = of(Reach.GLOBAL_DDL);
    public static final Replication STATUS = of(Reach.STATUS);

    private static Replication of(Reach reach) {
        return new Replication(reach, List.of(), null, null, null, null);
    }

    /** CREATE TABLE ... AS / SELECT ... INTO {@code table}: global DDL whose rows the other nodes take from the origin. */
    public static Replication creating(String table) {
        return new Replication(Reach.GLOBAL_DDL, List.of(), null, null, null, null, table);
    }

    /** A SELECT calling {@code setval()}: run on every node as text, then restrided there ({@link SetvalCalls}). */
    public static Replication settingSequences() {
        return settingSequences(List.of());
    }

    /**
     * {@link #settingSequences()} naming its sequences: when they are all temporary or unlogged (a stand-in's too),
     * the statement is local ({@link DdlClassifier}'s relation rule).
     */
    public static Replication settingSequences(List<String> sequences) {
        return new Replication(Reach.GLOBAL_DDL, List.copyOf(sequences), null, null, null, null, null, true);
    }

    /** DROP of {@code relations} (two or more): {@code before} the first name and {@code after} the last, as written. */
    public static Replication dropping(List<String> relations, String before, String after) {
        return new Replication(Reach.GLOBAL_DDL, List.copyOf(relations), null, null, null, null, null, false,
                List.of(before, after));
    }

    /** A statement on the database {@code name}: global when it is the session's database, local otherwise. */
    public static Replication onDatabase(String name) {
        return new Replication(Reach.GLOBAL_DDL, List.of(), null, null, null, null, null, false, null, name);
    }

    /** CREATE TABLE ... (LIKE source): global; a node-local source's columns are written out for the other nodes. */
    public static Replication copying(LikeElements like) {
        return new Replication(Reach.GLOBAL_DDL, List.of(), null, null, null, null, null, false, null, null, like);
    }

    public static Replication global(List<String> relations) {
        return relations.isEmpty() ? GLOBAL : new Replication(Reach.GLOBAL_DDL, List.copyOf(relations), null, null, null, null);
    }

    /** Refused with 0A000 (feature_not_supported). */
    public static Replication refused(String message, String hint) {
        return refused("0A000", message, hint);
    }

    public static Replication refused(String sqlState, String message, String hint) {
        return new Replication(Reach.REFUSED, List.of(), sqlState, message, hint, null);
    }

    /**
     * A multimaster function the gateway answers, called in a shape it does not run: refused with the usage
     * (0A000) whether or not the cluster is initialised ({@code call} null).
     */
    public static Replication surfaceMisused(String message, String hint) {
        return new Replication(Reach.SURFACE, List.of(), "0A000", message, hint, null);
    }

    public static Replication surface(SurfaceCall call) {
        return new Replication(Reach.SURFACE, List.of(), null, null, null, call);
    }

    @Override
    public String toString() {
        return switch (reach) {
            case GLOBAL_DDL -> like != null ? "GLOBAL_DDL(like " + like.sources() + ")"
                    : database != null ? "GLOBAL_DDL(database " + database + ")" : setsSequences ? "GLOBAL_DDL(setval)" : created != null ? "GLOBAL_DDL(creates " + created + ")"
                    : relations.isEmpty() ? "GLOBAL_DDL" : "GLOBAL_DDL" + relations;
            case REFUSED -> "REFUSED(" + sqlState + ": " + message + ")";
            case SURFACE -> call == null ? "SURFACE(" + sqlState + ": " + message + ")" : "SURFACE(" + call + ")";
            default -> reach.name();
        };
    }
}
