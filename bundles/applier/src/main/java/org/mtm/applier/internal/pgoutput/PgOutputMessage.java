package org.mtm.applier.internal.pgoutput;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One decoded pgoutput message (protocol versions 1 to 3, as PostgreSQL 15 sends them).
 *
 * <p>Conventions shared by all records:
 * <ul>
 *   <li>LSNs are {@code long}s; {@link Lsn#format(long)} prints them as {@code X/X}.</li>
 *   <li>Timestamps are PostgreSQL {@code TimestampTz}: microseconds since 2000-01-01 UTC;
 *       {@link PgTimestamp#toInstant(long)} converts them (each record also has an {@code ...Instant()}).</li>
 *   <li>Transaction ids are unsigned 32-bit values held in a {@code long}. Relation, type, row-change,
 *       truncate and logical messages carry an {@code xid} only inside a stream block ({@link StreamStart}
 *       … {@link StreamStop}); outside one it is {@link #NO_XID} (0, InvalidTransactionId). Inside one it
 *       is the xid of the <em>(sub)transaction</em> that made the change, not necessarily the
 *       top-level xid of the block: a {@link StreamAbort} with {@code subXid != xid} discards exactly
 *       the changes tagged {@code subXid} (checked on PostgreSQL 15).</li>
 *   <li>Relation and type oids are unsigned 32-bit values held in an {@code int} (as pgjdbc does);
 *       use {@link Integer#toUnsignedLong(int)} to print or compare them as numbers.</li>
 * </ul>
 */
public sealed interface PgOutputMessage {

    /** Streaming xid value of a message that is not inside a stream block. */
    long NO_XID = 0L;

    /** The protocol's message type byte, e.g. {@code 'B'}. */
    char type();

    // ---------------------------------------------------------------- transaction control

    /** {@code B}: a transaction decoded at its commit starts. */
    record Begin(long finalLsn, long commitTime, long xid) implements PgOutputMessage {
        public char type() { return 'B'; }
        public Instant commitInstant() { return PgTimestamp.toInstant(commitTime); }
        @Override public String toString() {
            return "Begin[finalLsn=" + Lsn.format(finalLsn) + ", commitTime=" + commitInstant() + ", xid=" + xid + "]";
        }
    }

    /** {@code C}: the transaction opened by the last {@link Begin} committed. */
    record Commit(int flags, long commitLsn, long endLsn, long commitTime) implements PgOutputMessage {
        public char type() { return 'C'; }
        public Instant commitInstant() { return PgTimestamp.toInstant(commitTime); }
        @Override public String toString() {
            return "Commit[flags=" + flags + ", commitLsn=" + Lsn.format(commitLsn) + ", endLsn=" + Lsn.format(endLsn)
                    + ", commitTime=" + commitInstant() + "]";
        }
    }

    /**
     * {@code O}: the current transaction was made under replication origin {@code name}; {@code originLsn}
     * is what {@code pg_replication_origin_xact_setup} recorded (the origin's commit LSN). Follows the
     * {@link Begin} / {@link BeginPrepare}; the commit/prepare time of such a transaction is the origin
     * timestamp given to {@code pg_replication_origin_xact_setup}, not the local clock.
     */
    record Origin(long originLsn, String name) implements PgOutputMessage {
        public Origin { Objects.requireNonNull(name, "name"); }
        public char type() { return 'O'; }
        @Override public String toString() { return "Origin[originLsn=" + Lsn.format(originLsn) + ", name=" + name + "]"; }
    }

    // ---------------------------------------------------------------- two-phase commit (protocol 3)

    /** {@code b}: a prepared transaction, decoded at its PREPARE TRANSACTION, starts. */
    record BeginPrepare(long prepareLsn, long endLsn, long prepareTime, long xid, String gid) implements PgOutputMessage {
        public BeginPrepare { Objects.requireNonNull(gid, "gid"); }
        public char type() { return 'b'; }
        public Instant prepareInstant() { return PgTimestamp.toInstant(prepareTime); }
        @Override public String toString() {
            return "BeginPrepare[prepareLsn=" + Lsn.format(prepareLsn) + ", endLsn=" + Lsn.format(endLsn)
                    + ", prepareTime=" + prepareInstant() + ", xid=" + xid + ", gid=" + gid + "]";
        }
    }

    /** {@code P}: the transaction opened by the last {@link BeginPrepare} was prepared as {@code gid}. */
    record Prepare(int flags, long prepareLsn, long endLsn, long prepareTime, long xid, String gid) implements PgOutputMessage {
        public Prepare { Objects.requireNonNull(gid, "gid"); }
        public char type() { return 'P'; }
        public Instant prepareInstant() { return PgTimestamp.toInstant(prepareTime); }
        @Override public String toString() {
            return "Prepare[flags=" + flags + ", prepareLsn=" + Lsn.format(prepareLsn) + ", endLsn=" + Lsn.format(endLsn)
                    + ", prepareTime=" + prepareInstant() + ", xid=" + xid + ", gid=" + gid + "]";
        }
    }

    /** {@code K}: COMMIT PREPARED of {@code gid} (standalone, not between begin and commit). */
    record CommitPrepared(int flags, long commitLsn, long endLsn, long commitTime, long xid, String gid) implements PgOutputMessage {
        public CommitPrepared { Objects.requireNonNull(gid, "gid"); }
        public char type() { return 'K'; }
        public Instant commitInstant() { return PgTimestamp.toInstant(commitTime); }
        @Override public String toString() {
            return "CommitPrepared[flags=" + flags + ", commitLsn=" + Lsn.format(commitLsn) + ", endLsn=" + Lsn.format(endLsn)
                    + ", commitTime=" + commitInstant() + ", xid=" + xid + ", gid=" + gid + "]";
        }
    }

    /**
     * {@code r}: ROLLBACK PREPARED of {@code gid}. {@code prepareEndLsn}/{@code prepareTime} identify the
     * PREPARE being rolled back (so a receiver that never got it can skip), {@code rollbackEndLsn}/{@code
     * rollbackTime} the rollback itself.
     */
    record RollbackPrepared(int flags, long prepareEndLsn, long rollbackEndLsn, long prepareTime, long rollbackTime,
                            long xid, String gid) implements PgOutputMessage {
        public RollbackPrepared { Objects.requireNonNull(gid, "gid"); }
        public char type() { return 'r'; }
        public Instant prepareInstant() { return PgTimestamp.toInstant(prepareTime); }
        public Instant rollbackInstant() { return PgTimestamp.toInstant(rollbackTime); }
        @Override public String toString() {
            return "RollbackPrepared[flags=" + flags + ", prepareEndLsn=" + Lsn.format(prepareEndLsn)
                    + ", rollbackEndLsn=" + Lsn.format(rollbackEndLsn) + ", prepareTime=" + prepareInstant()
                    + ", rollbackTime=" + rollbackInstant() + ", xid=" + xid + ", gid=" + gid + "]";
        }
    }

    // ---------------------------------------------------------------- streaming of large transactions (protocol 2)

    /** {@code S}: a block of changes of in-progress transaction {@code xid} follows until {@link StreamStop}. */
    record StreamStart(long xid, boolean firstSegment) implements PgOutputMessage {
        public char type() { return 'S'; }
    }

    /** {@code E}: end of the current stream block. */
    record StreamStop() implements PgOutputMessage {
        public char type() { return 'E'; }
    }

    /** {@code c}: streamed transaction {@code xid} committed. */
    record StreamCommit(long xid, int flags, long commitLsn, long endLsn, long commitTime) implements PgOutputMessage {
        public char type() { return 'c'; }
        public Instant commitInstant() { return PgTimestamp.toInstant(commitTime); }
        @Override public String toString() {
            return "StreamCommit[xid=" + xid + ", flags=" + flags + ", commitLsn=" + Lsn.format(commitLsn)
                    + ", endLsn=" + Lsn.format(endLsn) + ", commitTime=" + commitInstant() + "]";
        }
    }

    /**
     * {@code A}: streamed (sub)transaction aborted. {@code subXid == xid} means the whole transaction
     * {@code xid} aborted; otherwise only the changes of subtransaction {@code subXid} are discarded.
     */
    record StreamAbort(long xid, long subXid) implements PgOutputMessage {
        public char type() { return 'A'; }
        public boolean wholeTransaction() { return xid == subXid; }
    }

    /** {@code p}: streamed transaction {@code xid} was prepared as {@code gid}. */
    record StreamPrepare(int flags, long prepareLsn, long endLsn, long prepareTime, long xid, String gid) implements PgOutputMessage {
        public StreamPrepare { Objects.requireNonNull(gid, "gid"); }
        public char type() { return 'p'; }
        public Instant prepareInstant() { return PgTimestamp.toInstant(prepareTime); }
        @Override public String toString() {
            return "StreamPrepare[flags=" + flags + ", prepareLsn=" + Lsn.format(prepareLsn) + ", endLsn=" + Lsn.format(endLsn)
                    + ", prepareTime=" + prepareInstant() + ", xid=" + xid + ", gid=" + gid + "]";
        }
    }

    // ---------------------------------------------------------------- schema

    /** Replica identity of a relation ({@code pg_class.relreplident}). */
    enum ReplicaIdentity {
        DEFAULT('d'), NOTHING('n'), FULL('f'), INDEX('i');

        private final char code;

        ReplicaIdentity(char code) { this.code = code; }

        public char code() { return code; }

        /** @return the identity for {@code code}, or null when unknown */
        static ReplicaIdentity of(int code) {
            switch (code) {
                case 'd': return DEFAULT;
                case 'n': return NOTHING;
                case 'f': return FULL;
                case 'i': return INDEX;
                default: return null;
            }
        }
    }

    /** One column of a {@link Relation}; {@code flags} bit 1 = part of the replica identity key. */
    record Column(int flags, String name, int typeOid, int typeModifier) {
        public static final int FLAG_KEY = 1;

        public Column { Objects.requireNonNull(name, "name"); }

        public boolean isKey() { return (flags & FLAG_KEY) != 0; }
    }

    /**
     * {@code R}: describes relation {@code relationId} before its first change in a session (and again
     * after its schema changed). {@code namespace} is empty for {@code pg_catalog}.
     */
    record Relation(long xid, int relationId, String namespace, String name, ReplicaIdentity replicaIdentity,
                    List<Column> columns) implements PgOutputMessage {
        public Relation {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(replicaIdentity, "replicaIdentity");
            columns = List.copyOf(columns);
        }

        public char type() { return 'R'; }

        /** {@code namespace.name}, without quoting. */
        public String qualifiedName() { return schema() + '.' + name; }

        /** The relation's schema: pgoutput sends an empty namespace for {@code pg_catalog}. */
        public String schema() { return namespace.isEmpty() ? "pg_catalog" : namespace; }

        /** @return the index of the column called {@code columnName}, or -1 */
        public int columnIndex(String columnName) {
            for (int i = 0; i < columns.size(); i++) {
                if (columns.get(i).name().equals(columnName)) {
                    return i;
                }
            }
            return -1;
        }

        @Override public String toString() {
            return "Relation[xid=" + xid + ", relationId=" + Integer.toUnsignedString(relationId) + ", name="
                    + qualifiedName() + ", replicaIdentity=" + replicaIdentity + ", columns=" + columns + "]";
        }
    }

    /** {@code Y}: describes a non-built-in type used by a following {@link Relation}. */
    record Type(long xid, int typeOid, String namespace, String name) implements PgOutputMessage {
        public Type {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
        }

        public char type() { return 'Y'; }

        @Override public String toString() {
            return "Type[xid=" + xid + ", typeOid=" + Integer.toUnsignedString(typeOid) + ", name=" + namespace + '.' + name + "]";
        }
    }

    // ---------------------------------------------------------------- row changes

    /** How an {@link Update} or {@link Delete} identifies the old row. */
    enum OldTupleKind {
        /** No old row sent (UPDATE that did not change the replica identity key). */
        NONE,
        /** {@code K}: only the replica identity key columns are set; the others are null. */
        KEY,
        /** {@code O}: the whole old row (REPLICA IDENTITY FULL). */
        FULL
    }

    /** {@code I}: a row was inserted into {@code relationId}. */
    record Insert(long xid, int relationId, TupleData newTuple) implements PgOutputMessage {
        public Insert { Objects.requireNonNull(newTuple, "newTuple"); }
        public char type() { return 'I'; }
        @Override public String toString() {
            return "Insert[xid=" + xid + ", relationId=" + Integer.toUnsignedString(relationId) + ", new=" + newTuple + "]";
        }
    }

    /** {@code U}: a row of {@code relationId} was updated; {@code oldTuple} is null when {@code oldKind} is NONE. */
    record Update(long xid, int relationId, OldTupleKind oldKind, TupleData oldTuple, TupleData newTuple)
            implements PgOutputMessage {
        public Update {
            Objects.requireNonNull(oldKind, "oldKind");
            Objects.requireNonNull(newTuple, "newTuple");
            if ((oldKind == OldTupleKind.NONE) != (oldTuple == null)) {
                throw new IllegalArgumentException("old tuple must be present exactly when oldKind is KEY or FULL, got " + oldKind);
            }
        }
        public char type() { return 'U'; }
        @Override public String toString() {
            return "Update[xid=" + xid + ", relationId=" + Integer.toUnsignedString(relationId) + ", oldKind=" + oldKind
                    + (oldTuple == null ? "" : ", old=" + oldTuple) + ", new=" + newTuple + "]";
        }
    }

    /** {@code D}: a row of {@code relationId} was deleted; {@code oldKind} is KEY or FULL. */
    record Delete(long xid, int relationId, OldTupleKind oldKind, TupleData oldTuple) implements PgOutputMessage {
        public Delete {
            Objects.requireNonNull(oldTuple, "oldTuple");
            if (oldKind != OldTupleKind.KEY && oldKind != OldTupleKind.FULL) {
                throw new IllegalArgumentException("a delete identifies its row by KEY or FULL, got " + oldKind);
            }
        }
        public char type() { return 'D'; }
        @Override public String toString() {
            return "Delete[xid=" + xid + ", relationId=" + Integer.toUnsignedString(relationId) + ", oldKind=" + oldKind
                    + ", old=" + oldTuple + "]";
        }
    }

    /** {@code T}: the relations were truncated together; {@code options} bits: 1 CASCADE, 2 RESTART IDENTITY. */
    record Truncate(long xid, int options, int[] relationIds) implements PgOutputMessage {
        public static final int OPTION_CASCADE = 1;
        public static final int OPTION_RESTART_IDENTITY = 2;

        public Truncate { relationIds = relationIds.clone(); }

        public char type() { return 'T'; }

        public boolean cascade() { return (options & OPTION_CASCADE) != 0; }

        public boolean restartIdentity() { return (options & OPTION_RESTART_IDENTITY) != 0; }

        public int relationCount() { return relationIds.length; }

        public int relationId(int index) { return relationIds[index]; }

        /** @return a copy of the truncated relation ids */
        @Override public int[] relationIds() { return relationIds.clone(); }

        @Override public boolean equals(Object o) {
            return o instanceof Truncate t && t.xid == xid && t.options == options && Arrays.equals(t.relationIds, relationIds);
        }

        @Override public int hashCode() { return Objects.hash(xid, options) * 31 + Arrays.hashCode(relationIds); }

        @Override public String toString() {
            StringBuilder ids = new StringBuilder();
            for (int id : relationIds) {
                ids.append(ids.length() == 0 ? "" : ",").append(Integer.toUnsignedString(id));
            }
            return "Truncate[xid=" + xid + ", options=" + options + ", relationIds=[" + ids + "]]";
        }
    }

    // ---------------------------------------------------------------- logical messages

    /**
     * {@code M}: a {@code pg_logical_emit_message}. A transactional one arrives inside its transaction
     * (between begin and commit/prepare); a non-transactional one arrives on its own, at its LSN.
     */
    record LogicalMessage(long xid, boolean transactional, long lsn, String prefix, byte[] content) implements PgOutputMessage {
        public LogicalMessage {
            Objects.requireNonNull(prefix, "prefix");
            content = content.clone();
        }

        public char type() { return 'M'; }

        /** @return a copy of the content bytes */
        @Override public byte[] content() { return content.clone(); }

        public int contentLength() { return content.length; }

        /** The content decoded as UTF-8 (the server and pgjdbc's replication connection both use UTF-8). */
        public String contentText() { return new String(content, StandardCharsets.UTF_8); }

        @Override public boolean equals(Object o) {
            return o instanceof LogicalMessage m && m.xid == xid && m.transactional == transactional && m.lsn == lsn
                    && m.prefix.equals(prefix) && Arrays.equals(m.content, content);
        }

        @Override public int hashCode() { return Objects.hash(xid, transactional, lsn, prefix) * 31 + Arrays.hashCode(content); }

        @Override public String toString() {
            return "LogicalMessage[xid=" + xid + ", transactional=" + transactional + ", lsn=" + Lsn.format(lsn)
                    + ", prefix=" + prefix + ", content=" + content.length + " bytes]";
        }
    }
}
