package org.mtm.gateway.internal.protocol;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.mtm.gateway.internal.commit.ServerError;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;

/**
 * PostgreSQL frontend/backend protocol v3: message codes, readers of the few fields the gateway looks at,
 * and writers of the few messages it produces itself. Every message is {@code type(1) length(4) body},
 * the length counting itself; the startup-phase packets have no type byte.
 */
public final class PgWire {
    private PgWire() {
    }

    // startup-phase request codes (the second int of an untyped packet)
    public static final int PROTOCOL_3 = 3 << 16;
    public static final int CANCEL_REQUEST = 80877102;
    public static final int SSL_REQUEST = 80877103;
    public static final int GSSENC_REQUEST = 80877104;
    /** PostgreSQL refuses startup packets longer than this (MAX_STARTUP_PACKET_LENGTH). */
    public static final int MAX_STARTUP_LENGTH = 10000;

    // frontend message types
    public static final byte QUERY = 'Q';
    public static final byte PARSE = 'P';
    public static final byte BIND = 'B';
    public static final byte DESCRIBE = 'D';
    public static final byte EXECUTE = 'E';
    public static final byte CLOSE = 'C';
    public static final byte SYNC = 'S';
    public static final byte FLUSH = 'H';
    public static final byte FUNCTION_CALL = 'F';
    public static final byte COPY_DATA = 'd';
    public static final byte COPY_DONE = 'c';
    public static final byte COPY_FAIL = 'f';
    public static final byte TERMINATE = 'X';
    public static final byte PASSWORD = 'p';

    // backend message types
    public static final byte AUTHENTICATION = 'R';
    public static final byte BACKEND_KEY_DATA = 'K';
    public static final byte PARAMETER_STATUS = 'S';
    public static final byte READY_FOR_QUERY = 'Z';
    public static final byte ERROR_RESPONSE = 'E';
    public static final byte NOTICE_RESPONSE = 'N';
    public static final byte NOTIFICATION_RESPONSE = 'A';
    public static final byte PARSE_COMPLETE = '1';
    public static final byte BIND_COMPLETE = '2';
    public static final byte CLOSE_COMPLETE = '3';
    public static final byte COMMAND_COMPLETE = 'C';
    public static final byte EMPTY_QUERY = 'I';
    public static final byte PORTAL_SUSPENDED = 's';
    public static final byte NO_DATA = 'n';
    public static final byte ROW_DESCRIPTION = 'T';
    public static final byte PARAMETER_DESCRIPTION = 't';
    public static final byte DATA_ROW = 'D';
    public static final byte COPY_IN_RESPONSE = 'G';
    public static final byte COPY_OUT_RESPONSE = 'H';
    public static final byte COPY_BOTH_RESPONSE = 'W';
    public static final byte FUNCTION_CALL_RESPONSE = 'V';
    public static final byte NEGOTIATE_PROTOCOL_VERSION = 'v';

    /** Name of the prepared statement and portal the gateway uses for its own queries on a session. */
    public static final String OWN_NAME = "mtm_gateway_internal";

    // ------------------------------------------------------------------ readers

    /** Index of the NUL that ends the C string starting at {@code index}, or -1 if none before {@code limit}. */
    public static int cstringEnd(ByteBuf buf, int index, int limit) {
        return buf.indexOf(index, limit, (byte) 0);
    }

    public static String cstring(ByteBuf buf, int index, int limit) {
        int end = cstringEnd(buf, index, limit);
        if (end < 0) {
            throw new IllegalArgumentException("protocol violation: unterminated string in message");
        }
        return buf.toString(index, end - index, StandardCharsets.UTF_8);
    }

    /** Fields of an ErrorResponse or NoticeResponse message (whole message, header included). */
    public static ServerError readError(ByteBuf msg) {
        int limit = msg.readerIndex() + msg.readableBytes();
        int i = msg.readerIndex() + 5;
        String severity = null;
        String code = null;
        String message = null;
        String detail = null;
        String hint = null;
        Map<Character, String> more = null;
        while (i < limit) {
            byte field = msg.getByte(i++);
            if (field == 0) {
                break;
            }
            int end = cstringEnd(msg, i, limit);
            if (end < 0) {
                break;
            }
            String value = msg.toString(i, end - i, StandardCharsets.UTF_8);
            switch (field) {
                case 'V' -> severity = value;
                case 'S' -> severity = severity == null ? value : severity;
                case 'C' -> code = value;
                case 'M' -> message = value;
                case 'D' -> detail = value;
                case 'H' -> hint = value;
                default -> {
                    if (more == null) {
                        more = new LinkedHashMap<>();
                    }
                    more.put((char) field, value);
                }
            }
            i = end + 1;
        }
        return new ServerError(severity == null ? "ERROR" : severity, code == null ? "XX000" : code,
                message == null ? "" : message, detail, hint, more);
    }

    /** One field of an ErrorResponse/NoticeResponse (whole message), or null. */
    public static String readField(ByteBuf msg, char code) {
        int limit = msg.readerIndex() + msg.readableBytes();
        int i = msg.readerIndex() + 5;
        while (i < limit) {
            byte field = msg.getByte(i++);
            if (field == 0) {
                return null;
            }
            int end = cstringEnd(msg, i, limit);
            if (end < 0) {
                return null;
            }
            if (field == code) {
                return msg.toString(i, end - i, StandardCharsets.UTF_8);
            }
            i = end + 1;
        }
        return null;
    }

    /** The text columns of a DataRow (whole message); SQL NULL as null. */
    public static List<String> readDataRow(ByteBuf msg) {
        int i = msg.readerIndex() + 5;
        int n = msg.getUnsignedShort(i);
        i += 2;
        List<String> row = new ArrayList<>(n);
        for (int c = 0; c < n; c++) {
            int len = msg.getInt(i);
            i += 4;
            if (len < 0) {
                row.add(null);
            } else {
                row.add(msg.toString(i, len, StandardCharsets.UTF_8));
                i += len;
            }
        }
        return row;
    }

    // ------------------------------------------------------------------ writers

    public static ByteBuf errorResponse(ByteBufAllocator alloc, ServerError e) {
        return fields(alloc, ERROR_RESPONSE, e);
    }

    public static ByteBuf noticeResponse(ByteBufAllocator alloc, ServerError e) {
        return fields(alloc, NOTICE_RESPONSE, e);
    }

    private static ByteBuf fields(ByteBufAllocator alloc, byte type, ServerError e) {
        ByteBuf b = alloc.buffer(64 + e.message().length());
        b.writeByte(type).writeInt(0);
        field(b, 'S', e.severity());
        field(b, 'V', e.severity());
        field(b, 'C', e.sqlState());
        field(b, 'M', e.message());
        if (e.detail() != null) {
            field(b, 'D', e.detail());
        }
        if (e.hint() != null) {
            field(b, 'H', e.hint());
        }
        e.more().forEach((code, value) -> field(b, code, value));
        b.writeByte(0);
        return fixLength(b, 0);
    }

    private static void field(ByteBuf b, char code, String value) {
        b.writeByte(code);
        ByteBufUtil.writeUtf8(b, value);
        b.writeByte(0);
    }

    public static ByteBuf commandComplete(ByteBufAllocator alloc, String tag) {
        ByteBuf b = alloc.buffer(6 + tag.length());
        b.writeByte(COMMAND_COMPLETE).writeInt(0);
        ByteBufUtil.writeUtf8(b, tag);
        b.writeByte(0);
        return fixLength(b, 0);
    }

    public static ByteBuf readyForQuery(ByteBufAllocator alloc, char status) {
        return alloc.buffer(6).writeByte(READY_FOR_QUERY).writeInt(5).writeByte(status);
    }

    public static ByteBuf sync(ByteBufAllocator alloc) {
        return alloc.buffer(5).writeByte(SYNC).writeInt(4);
    }

    /** A Query message carrying {@code text} (bytes already in the client encoding). */
    public static ByteBuf query(ByteBufAllocator alloc, ByteBuf text, int index, int length) {
        ByteBuf b = alloc.buffer(6 + length);
        b.writeByte(QUERY).writeInt(4 + length + 1);
        b.writeBytes(text, index, length);
        b.writeByte(0);
        return b;
    }

    /** A Query message of the gateway's own (ASCII SQL). */
    public static ByteBuf query(ByteBufAllocator alloc, String sql) {
        ByteBuf b = alloc.buffer(6 + sql.length());
        b.writeByte(QUERY).writeInt(4 + sql.length() + 1);
        b.writeCharSequence(sql, StandardCharsets.US_ASCII);
        b.writeByte(0);
        return b;
    }

    /**
     * An ErrorResponse/NoticeResponse (whole message) with its position field ('P', 1-based characters of the
     * query) moved back by {@code shift}: the error of a query the gateway sent with a prefix of its own.
     */
    public static ByteBuf shiftPosition(ByteBufAllocator alloc, ByteBuf msg, int shift) {
        return mapPosition(alloc, msg, p -> p > shift ? p - shift : p);
    }

    /**
     * A CONTEXT line of a cluster's event trigger that raised the error ("PL/pgSQL function mtm.name(...) line n at
     * RAISE"): its refusals of what PostgreSQL refuses (a permanent relation over a temporary one, ...) repeat
     * PostgreSQL's message and SQLSTATE, and the line would be all that tells them apart.
     */
    private static final java.util.regex.Pattern CLUSTER_RAISE = java.util.regex.Pattern.compile(
            "PL/pgSQL function mtm\\.[a-z_]+\\([^)]*\\) line \\d+ at RAISE");
    private static final byte[] CLUSTER_FUNCTION = "PL/pgSQL function mtm.".getBytes(StandardCharsets.US_ASCII);

    /** Whether an ErrorResponse {@code [index, index + length)} may carry a CONTEXT line of the cluster's functions. */
    public static boolean namesClusterFunction(ByteBuf msg, int index, int length) {
        int last = index + length - CLUSTER_FUNCTION.length;
        outer:
        for (int i = index + 5; i <= last; i++) {
            for (int k = 0; k < CLUSTER_FUNCTION.length; k++) {
                if (msg.getByte(i + k) != CLUSTER_FUNCTION[k]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /**
     * An ErrorResponse/NoticeResponse (whole message) as the client gets it: its position field ('P', 1-based
     * characters of the query) replaced by {@code map} of it, unless null — the error of a piece or a rewrite of the
     * client's query, positioned in the client's text (the internal position 'p', of the internal query 'q', stays) —
     * and without the CONTEXT ('W') lines of the cluster's event triggers' RAISE ({@link #CLUSTER_RAISE}).
     */
    public static ByteBuf mapPosition(ByteBufAllocator alloc, ByteBuf msg, java.util.function.IntUnaryOperator map) {
        int limit = msg.readerIndex() + msg.readableBytes();
        ByteBuf b = alloc.buffer(msg.readableBytes() + 8);
        b.writeByte(msg.getByte(msg.readerIndex())).writeInt(0);
        int i = msg.readerIndex() + 5;
        while (i < limit) {
            byte field = msg.getByte(i++);
            if (field == 0) {
                break;
            }
            int end = cstringEnd(msg, i, limit);
            if (end < 0) {
                break;
            }
            b.writeByte(field);
            if (field == 'P') {
                String v = msg.toString(i, end - i, StandardCharsets.US_ASCII);
                int p;
                try {
                    p = Integer.parseInt(v);
                } catch (NumberFormatException e) {
                    p = -1;
                }
                b.writeCharSequence(p > 0 && map != null ? Integer.toString(map.applyAsInt(p)) : v, StandardCharsets.US_ASCII);
            } else if (field == 'W' && namesClusterFunction(msg, i - 5, end - i + 5)) {
                // line by line (CONTEXT lines are '\n'-separated; the bytes are the client encoding's, ASCII-compatible)
                StringBuilder kept = new StringBuilder();
                for (String line : msg.toString(i, end - i, StandardCharsets.ISO_8859_1).split("\n", -1)) {
                    if (!CLUSTER_RAISE.matcher(line).matches()) {
                        kept.append(kept.length() == 0 ? "" : "\n").append(line);
                    }
                }
                if (kept.length() == 0) {
                    b.writerIndex(b.writerIndex() - 1); // no CONTEXT left: the field goes
                    i = end + 1;
                    continue;
                }
                b.writeCharSequence(kept, StandardCharsets.ISO_8859_1);
            } else {
                b.writeBytes(msg, i, end - i);
            }
            b.writeByte(0);
            i = end + 1;
        }
        b.writeByte(0);
        return fixLength(b, 0);
    }

    private static final String IN_BLOCK = " cannot run inside a transaction block";
    private static final String FROM_FUNCTION = " cannot be executed from a function";

    /**
     * An ErrorResponse (whole message) as PostgreSQL raises it outside a transaction block, or null when it is not
     * one to change: PostgreSQL's "X cannot run inside a transaction block" (25001) raised inside a function (it has
     * a CONTEXT), which PostgreSQL checks before "X cannot be executed from a function" — for a statement the gateway
     * ran in a block of its own where the client had none, the client gets the second, as PostgreSQL gives it.
     */
    public static ByteBuf outsideBlock(ByteBufAllocator alloc, ByteBuf msg) {
        int limit = msg.readerIndex() + msg.readableBytes();
        String code = null;
        String text = null;
        boolean context = false;
        for (int i = msg.readerIndex() + 5; i < limit && msg.getByte(i) != 0; ) {
            byte field = msg.getByte(i++);
            int end = cstringEnd(msg, i, limit);
            if (end < 0) {
                return null;
            }
            if (field == 'C') {
                code = msg.toString(i, end - i, StandardCharsets.US_ASCII);
            } else if (field == 'M') {
                text = msg.toString(i, end - i, StandardCharsets.ISO_8859_1);
            } else if (field == 'W') {
                context = true;
            }
            i = end + 1;
        }
        if (!context || !"25001".equals(code) || text == null || !text.endsWith(IN_BLOCK)) {
            return null;
        }
        String changed = text.substring(0, text.length() - IN_BLOCK.length()) + FROM_FUNCTION;
        ByteBuf b = alloc.buffer(msg.readableBytes() + 8);
        b.writeByte(msg.getByte(msg.readerIndex())).writeInt(0);
        for (int i = msg.readerIndex() + 5; i < limit && msg.getByte(i) != 0; ) {
            byte field = msg.getByte(i++);
            int end = cstringEnd(msg, i, limit);
            b.writeByte(field);
            if (field == 'M') {
                b.writeCharSequence(changed, StandardCharsets.ISO_8859_1);
            } else {
                b.writeBytes(msg, i, end - i);
            }
            b.writeByte(0);
            i = end + 1;
        }
        b.writeByte(0);
        return fixLength(b, 0);
    }

    public static ByteBuf cancelRequest(ByteBufAllocator alloc, int pid, int secret) {
        return alloc.buffer(16).writeInt(16).writeInt(CANCEL_REQUEST).writeInt(pid).writeInt(secret);
    }

    /**
     * The gateway's own statement on a session, in the extended protocol so that the client's unnamed
     * statement and portal survive (a simple Query would drop them): Close the own statement and portal
     * left over from an earlier failed run, Parse, Bind (text results), Execute, Close both, and Sync when
     * {@code sync}. Replies: 3 3 1 2 [D...] C 3 3 [Z], or an ErrorResponse after which the backend skips
     * to the next Sync.
     */
    public static ByteBuf ownStatement(ByteBufAllocator alloc, String sql, boolean sync) {
        return ownStatement(alloc, sql, List.of(), sync);
    }

    /**
     * {@link #ownStatement} with text-format parameters {@code $1..$n}: the values are bytes in the client's
     * encoding (e.g. a statement's text as the client sent it), so the server converts them as it converts the
     * client's own.
     */
    public static ByteBuf ownStatement(ByteBufAllocator alloc, String sql, List<byte[]> params, boolean sync) {
        int size = 160 + sql.length();
        for (byte[] p : params) {
            size += 4 + p.length;
        }
        ByteBuf b = alloc.buffer(size);
        close(b, 'S');
        close(b, 'P');
        parseMessage(b, OWN_NAME, sql);
        bindMessage(b, OWN_NAME, params);
        executeMessage(b);
        close(b, 'P');
        close(b, 'S');
        if (sync) {
            b.writeByte(SYNC).writeInt(4);
        }
        return b;
    }

    /**
     * A Parse message: statement {@code name} (raw bytes of the client's message), {@code sql}, and the
     * client's parameter type declarations copied as they were ({@code types}: count and OIDs).
     */
    public static ByteBuf parse(ByteBufAllocator alloc, ByteBuf name, String sql, ByteBuf types) {
        ByteBuf b = alloc.buffer(16 + name.readableBytes() + sql.length() * 3 + types.readableBytes());
        b.writeByte(PARSE).writeInt(0);
        b.writeBytes(name, name.readerIndex(), name.readableBytes());
        b.writeByte(0);
        cstring(b, sql);
        b.writeBytes(types, types.readerIndex(), types.readableBytes());
        return fixLength(b, 0);
    }

    /** A Parse carrying {@code sql} as bytes already in the client encoding. */
    public static ByteBuf parse(ByteBufAllocator alloc, ByteBuf name, byte[] sql, ByteBuf types) {
        ByteBuf b = alloc.buffer(16 + name.readableBytes() + sql.length + types.readableBytes());
        b.writeByte(PARSE).writeInt(0);
        b.writeBytes(name, name.readerIndex(), name.readableBytes());
        b.writeByte(0);
        b.writeBytes(sql);
        b.writeByte(0);
        b.writeBytes(types, types.readerIndex(), types.readableBytes());
        return fixLength(b, 0);
    }

    /** RowDescription of one text-format column of type {@code typeOid} (length {@code typeLength}). */
    public static ByteBuf rowDescription(ByteBufAllocator alloc, String column, int typeOid, int typeLength) {
        ByteBuf b = alloc.buffer(32 + column.length());
        b.writeByte(ROW_DESCRIPTION).writeInt(0).writeShort(1);
        cstring(b, column);
        b.writeInt(0).writeShort(0).writeInt(typeOid).writeShort(typeLength).writeInt(-1).writeShort(0);
        return fixLength(b, 0);
    }

    /** DataRow of one column ({@code null}: SQL NULL). */
    public static ByteBuf dataRow(ByteBufAllocator alloc, byte[] value) {
        ByteBuf b = alloc.buffer(11 + (value == null ? 0 : value.length));
        b.writeByte(DATA_ROW).writeInt(0).writeShort(1);
        if (value == null) {
            b.writeInt(-1);
        } else {
            b.writeInt(value.length).writeBytes(value);
        }
        return fixLength(b, 0);
    }

    /** Parse of {@code sql} as prepared statement {@code name}, no parameter types declared. */
    private static void parseMessage(ByteBuf b, String name, String sql) {
        int start = b.writerIndex();
        b.writeByte(PARSE).writeInt(0);
        cstring(b, name);
        cstring(b, sql);
        b.writeShort(0);
        fixLength(b, start);
    }

    /** Bind of the gateway's own portal to {@code statement}: text parameters {@code params}, text results. */
    private static void bindMessage(ByteBuf b, String statement, List<byte[]> params) {
        int start = b.writerIndex();
        b.writeByte(BIND).writeInt(0);
        cstring(b, OWN_NAME);
        cstring(b, statement);
        b.writeShort(0).writeShort(params.size());
        for (byte[] p : params) {
            b.writeInt(p.length).writeBytes(p);
        }
        b.writeShort(0);
        fixLength(b, start);
    }

    /** Execute of the gateway's own portal, all rows. */
    private static void executeMessage(ByteBuf b) {
        int start = b.writerIndex();
        b.writeByte(EXECUTE).writeInt(0);
        cstring(b, OWN_NAME);
        b.writeInt(0);
        fixLength(b, start);
    }

    /** Number of CloseComplete replies of {@link #ownStatement}. */
    public static final int OWN_STATEMENT_CLOSES = 4;

    /**
     * A short form of {@link #ownStatement} for a statement without parameters or rows that opens the transaction
     * of what follows it (unsynced): Parse, Bind, Execute, Close of the statement and of the portal (left open, the
     * portal would be in pg_cursors for the client's statements that share the transaction). {@code leftovers}: Close
     * the own statement and portal first, as an earlier own statement that failed may have left them.
     * Replies: [3 3] 1 2 C 3 3.
     */
    public static ByteBuf ownStatementOpeningTransaction(ByteBufAllocator alloc, String sql, boolean leftovers) {
        ByteBuf b = alloc.buffer(96 + sql.length());
        if (leftovers) {
            close(b, 'S');
            close(b, 'P');
        }
        parseMessage(b, OWN_NAME, sql);
        bindMessage(b, OWN_NAME, List.of());
        executeMessage(b);
        close(b, 'S');
        close(b, 'P');
        return b;
    }

    /** Number of CloseComplete replies of {@link #ownStatementOpeningTransaction}. */
    public static int openingTransactionCloses(boolean leftovers) {
        return leftovers ? 4 : 2;
    }

    private static void close(ByteBuf b, char what) {
        int start = b.writerIndex();
        b.writeByte(CLOSE).writeInt(0).writeByte(what);
        cstring(b, OWN_NAME);
        fixLength(b, start);
    }

    private static void cstring(ByteBuf b, String s) {
        ByteBufUtil.writeUtf8(b, s);
        b.writeByte(0);
    }

    private static ByteBuf fixLength(ByteBuf b, int start) {
        b.setInt(start + 1, b.writerIndex() - start - 1);
        return b;
    }

    /** SQL string literal of {@code s} (standard_conforming_strings-independent: E'' with escapes). */
    public static String literal(String s) {
        StringBuilder q = new StringBuilder(s.length() + 4).append("E'");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '\\') {
                q.append(c);
            }
            q.append(c);
        }
        return q.append('\'').toString();
    }
}
