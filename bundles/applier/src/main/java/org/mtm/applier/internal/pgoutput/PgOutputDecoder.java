package org.mtm.applier.internal.pgoutput;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.mtm.applier.internal.pgoutput.PgOutputMessage.Begin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.BeginPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Column;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Commit;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Delete;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Insert;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.LogicalMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.OldTupleKind;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Origin;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Prepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.ReplicaIdentity;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.RollbackPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamAbort;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamCommit;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamStart;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamStop;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Truncate;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Type;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Update;

/**
 * Decodes pgoutput messages (protocol versions 1 to 3: streaming and two-phase included), one message
 * per call, as {@code PGReplicationStream.read()} returns them (the payload after the XLogData header).
 *
 * <p>The only state is whether the stream is inside a stream block ({@code S} … {@code E}): inside
 * one, relation, type, row-change, truncate and logical messages carry the streamed transaction's xid
 * first. So use one decoder per replication stream, from one thread, and {@link #reset()} it when the
 * stream is restarted.
 *
 * <p>Strict: an unknown type byte, a truncated message, bytes left over after the last field, or a
 * field value outside the protocol raise {@link PgOutputFormatException}; nothing is skipped.
 */
public final class PgOutputDecoder {

    private static final StreamStop STREAM_STOP = new StreamStop();

    private boolean inStreamBlock;

    // cursor over the message being decoded; valid only during decode()
    private ByteBuffer buf;
    private int start;
    private int pos;
    private int limit;
    private int type;

    /** True between a decoded {@code S} and the next {@code E}. */
    public boolean inStreamBlock() {
        return inStreamBlock;
    }

    /** Forgets the stream block state (for a new replication stream). */
    public void reset() {
        inStreamBlock = false;
    }

    /**
     * Decodes the message from {@code message.position()} to {@code message.limit()}. The buffer's
     * position, limit and byte order are left unchanged; the result shares no memory with it.
     *
     * @throws PgOutputFormatException when the bytes are not one well-formed pgoutput message
     */
    public PgOutputMessage decode(ByteBuffer message) {
        buf = message.order() == ByteOrder.BIG_ENDIAN ? message : message.duplicate().order(ByteOrder.BIG_ENDIAN);
        start = message.position();
        pos = start;
        limit = message.limit();
        type = PgOutputFormatException.NO_TYPE;
        try {
            if (pos >= limit) {
                throw error("a message type byte", "the message is empty");
            }
            type = buf.get(pos++) & 0xFF;
            PgOutputMessage decoded = decodeBody();
            if (pos != limit) {
                throw error("end of message", (limit - pos) + " unexpected bytes remain of " + (limit - start));
            }
            if (decoded instanceof StreamStart) {
                inStreamBlock = true;
            } else if (decoded instanceof StreamStop) {
                inStreamBlock = false;
            }
            return decoded;
        } finally {
            buf = null;
        }
    }

    /** Decodes a message held in a byte array (tests, tools). */
    public PgOutputMessage decode(byte[] message) {
        return decode(ByteBuffer.wrap(message));
    }

    private PgOutputMessage decodeBody() {
        switch (type) {
            case 'B': return new Begin(i64("final LSN (int64)"), i64("commit timestamp (int64)"), u32("xid (int32)"));
            case 'C': return new Commit(u8("flags (int8)"), i64("commit LSN (int64)"), i64("end LSN (int64)"),
                    i64("commit timestamp (int64)"));
            case 'O': return new Origin(i64("origin LSN (int64)"), string("origin name (string)"));
            case 'R': return relation();
            case 'Y': return new Type(streamXid(), i32("type oid (int32)"), string("type namespace (string)"),
                    string("type name (string)"));
            case 'I': return insert();
            case 'U': return update();
            case 'D': return delete();
            case 'T': return truncate();
            case 'M': return logicalMessage();
            case 'S': return streamStart();
            case 'E':
                if (!inStreamBlock) {
                    throw error("a stream start (S) before this stream stop", "no stream block is open");
                }
                return STREAM_STOP;
            case 'c': return new StreamCommit(u32("xid (int32)"), u8("flags (int8)"), i64("commit LSN (int64)"),
                    i64("end LSN (int64)"), i64("commit timestamp (int64)"));
            case 'A': return new StreamAbort(u32("xid (int32)"), u32("subtransaction xid (int32)"));
            case 'b': return new BeginPrepare(i64("prepare LSN (int64)"), i64("end LSN (int64)"),
                    i64("prepare timestamp (int64)"), u32("xid (int32)"), string("gid (string)"));
            case 'P': return new Prepare(u8("flags (int8)"), i64("prepare LSN (int64)"), i64("end LSN (int64)"),
                    i64("prepare timestamp (int64)"), u32("xid (int32)"), string("gid (string)"));
            case 'K': return new CommitPrepared(u8("flags (int8)"), i64("commit LSN (int64)"), i64("end LSN (int64)"),
                    i64("commit timestamp (int64)"), u32("xid (int32)"), string("gid (string)"));
            case 'r': return new RollbackPrepared(u8("flags (int8)"), i64("prepare end LSN (int64)"),
                    i64("rollback end LSN (int64)"), i64("prepare timestamp (int64)"), i64("rollback timestamp (int64)"),
                    u32("xid (int32)"), string("gid (string)"));
            case 'p': return new StreamPrepare(u8("flags (int8)"), i64("prepare LSN (int64)"), i64("end LSN (int64)"),
                    i64("prepare timestamp (int64)"), u32("xid (int32)"), string("gid (string)"));
            default:
                pos = start;
                throw error("a message type byte, one of B C O R Y I U D T M S E c A b P K r p",
                        "unknown type (protocol version above 3, or not a pgoutput stream?)");
        }
    }

    private Relation relation() {
        long xid = streamXid();
        int relationId = i32("relation oid (int32)");
        String namespace = string("relation namespace (string)");
        String name = string("relation name (string)");
        int identityAt = pos;
        int identityCode = u8("replica identity (int8)");
        ReplicaIdentity identity = ReplicaIdentity.of(identityCode);
        if (identity == null) {
            pos = identityAt;
            throw error("replica identity d, n, f or i", "got " + describeByte(identityCode));
        }
        int columnCount = u16("column count (int16)");
        List<Column> columns = new ArrayList<>(columnCount);
        for (int i = 0; i < columnCount; i++) {
            columns.add(new Column(u8("column flags (int8)"), string("column name (string)"), i32("column type oid (int32)"),
                    i32("column type modifier (int32)")));
        }
        return new Relation(xid, relationId, namespace, name, identity, columns);
    }

    private Insert insert() {
        long xid = streamXid();
        int relationId = i32("relation oid (int32)");
        expectByte('N', "new tuple marker 'N'");
        return new Insert(xid, relationId, tuple());
    }

    private Update update() {
        long xid = streamXid();
        int relationId = i32("relation oid (int32)");
        int markerAt = pos;
        int marker = u8("tuple marker 'K', 'O' or 'N'");
        OldTupleKind oldKind;
        TupleData oldTuple = null;
        if (marker == 'K' || marker == 'O') {
            oldKind = marker == 'K' ? OldTupleKind.KEY : OldTupleKind.FULL;
            oldTuple = tuple();
            expectByte('N', "new tuple marker 'N' after the old tuple");
        } else if (marker == 'N') {
            oldKind = OldTupleKind.NONE;
        } else {
            pos = markerAt;
            throw error("tuple marker 'K', 'O' or 'N'", "got " + describeByte(marker));
        }
        return new Update(xid, relationId, oldKind, oldTuple, tuple());
    }

    private Delete delete() {
        long xid = streamXid();
        int relationId = i32("relation oid (int32)");
        int markerAt = pos;
        int marker = u8("old tuple marker 'K' or 'O'");
        if (marker != 'K' && marker != 'O') {
            pos = markerAt;
            throw error("old tuple marker 'K' or 'O'", "got " + describeByte(marker));
        }
        return new Delete(xid, relationId, marker == 'K' ? OldTupleKind.KEY : OldTupleKind.FULL, tuple());
    }

    private Truncate truncate() {
        long xid = streamXid();
        int countAt = pos;
        int count = i32("relation count (int32)");
        if (count < 0) {
            pos = countAt;
            throw error("relation count (int32) >= 0", "got " + count);
        }
        int options = u8("truncate options (int8)");
        need(4L * count, "truncated relation oids (int32 each)"); // before allocating count ints
        int[] relationIds = new int[count];
        for (int i = 0; i < count; i++) {
            relationIds[i] = i32("truncated relation oid (int32)");
        }
        return new Truncate(xid, options, relationIds);
    }

    private LogicalMessage logicalMessage() {
        long xid = streamXid();
        int flags = u8("flags (int8)");
        long lsn = i64("message LSN (int64)");
        String prefix = string("prefix (string)");
        int lengthAt = pos;
        int length = i32("content length (int32)");
        if (length < 0) {
            pos = lengthAt;
            throw error("content length (int32) >= 0", "got " + length);
        }
        need(length, "message content");
        byte[] content = new byte[length];
        buf.get(pos, content);
        pos += length;
        return new LogicalMessage(xid, (flags & 1) != 0, lsn, prefix, content);
    }

    private StreamStart streamStart() {
        if (inStreamBlock) {
            throw error("a stream stop (E) before this stream start", "a stream block is already open");
        }
        long xid = u32("xid (int32)");
        int first = u8("first segment flag (int8)");
        return new StreamStart(xid, first == 1);
    }

    /** The xid that relation, type, change, truncate and logical messages carry inside a stream block. */
    private long streamXid() {
        return inStreamBlock ? u32("streamed transaction xid (int32), sent inside a stream block") : PgOutputMessage.NO_XID;
    }

    /**
     * TupleData: int16 column count, then per column a kind byte and, for 't' and 'b', an int32 length and
     * the bytes. A first pass validates and sizes, a second copies every value into one array.
     */
    private TupleData tuple() {
        int columnCount = u16("tuple column count (int16)");
        int first = pos;
        int total = 0;
        for (int i = 0; i < columnCount; i++) {
            int kindAt = pos;
            int kind = u8("column kind (byte)");
            if (kind == TupleData.TEXT || kind == TupleData.BINARY) {
                int lengthAt = pos;
                int length = i32("value length (int32)");
                if (length < 0) {
                    pos = lengthAt;
                    throw error("value length (int32) >= 0", "got " + length + " for column " + i);
                }
                need(length, "column value bytes");
                pos += length;
                total += length;
            } else if (kind != TupleData.NULL && kind != TupleData.UNCHANGED_TOAST) {
                pos = kindAt;
                throw error("column kind 'n', 'u', 't' or 'b'", "got " + describeByte(kind) + " for column " + i);
            }
        }
        byte[] kinds = new byte[columnCount];
        int[] ends = new int[columnCount];
        byte[] data = new byte[total];
        int at = first;
        int filled = 0;
        for (int i = 0; i < columnCount; i++) {
            byte kind = buf.get(at++);
            kinds[i] = kind;
            if (kind == TupleData.TEXT || kind == TupleData.BINARY) {
                int length = buf.getInt(at);
                at += 4;
                buf.get(at, data, filled, length);
                at += length;
                filled += length;
            }
            ends[i] = filled;
        }
        return new TupleData(kinds, ends, data);
    }

    // ---------------------------------------------------------------- primitive readers (big-endian)

    private void expectByte(int expected, String what) {
        int at = pos;
        int got = u8(what);
        if (got != expected) {
            pos = at;
            throw error(what, "got " + describeByte(got));
        }
    }

    private int u8(String what) {
        need(1, what);
        return buf.get(pos++) & 0xFF;
    }

    private int u16(String what) {
        need(2, what);
        int v = buf.getShort(pos) & 0xFFFF;
        pos += 2;
        return v;
    }

    private int i32(String what) {
        need(4, what);
        int v = buf.getInt(pos);
        pos += 4;
        return v;
    }

    private long u32(String what) {
        return Integer.toUnsignedLong(i32(what));
    }

    private long i64(String what) {
        need(8, what);
        long v = buf.getLong(pos);
        pos += 8;
        return v;
    }

    /** A NUL-terminated UTF-8 string (pq_sendstring). */
    private String string(String what) {
        int end = pos;
        while (end < limit && buf.get(end) != 0) {
            end++;
        }
        if (end == limit) {
            throw error(what + " terminated by NUL", "the message ends after " + (limit - pos) + " bytes without one");
        }
        String s;
        if (buf.hasArray()) {
            s = new String(buf.array(), buf.arrayOffset() + pos, end - pos, StandardCharsets.UTF_8);
        } else {
            byte[] bytes = new byte[end - pos];
            buf.get(pos, bytes);
            s = new String(bytes, StandardCharsets.UTF_8);
        }
        pos = end + 1;
        return s;
    }

    private void need(long n, String what) {
        if (limit - pos < n) {
            throw error(what, "the message is truncated: " + n + " bytes needed, " + (limit - pos) + " remain of "
                    + (limit - start));
        }
    }

    private PgOutputFormatException error(String expected, String detail) {
        return new PgOutputFormatException(type, pos - start, expected, detail);
    }

    private static String describeByte(int b) {
        return b >= 0x20 && b < 0x7F ? "'" + (char) b + "' (" + b + ")" : String.format("0x%02X", b);
    }
}
