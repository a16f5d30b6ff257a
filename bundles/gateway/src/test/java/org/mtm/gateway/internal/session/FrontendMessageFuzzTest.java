package org.mtm.gateway.internal.session;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import org.junit.Test;
import org.mtm.gateway.internal.protocol.FrontendMessages;
import org.mtm.gateway.internal.protocol.Latin1View;
import org.mtm.gateway.internal.protocol.PgWire;
import org.mtm.gateway.internal.sql.SqlSplitter;
import org.mtm.gateway.internal.sql.SqlStatement;
import org.mtm.testing.Fuzz;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Malformed frontend messages (issue 14), every type a ready session reads: Query, Parse, Bind (also of the
 * mtm.* calls the gateway answers itself, whose parameters it decodes), Describe, Execute, Close, Sync, Flush,
 * FunctionCall, the copy messages, Terminate, and types that do not exist — mutated (bit flips, edge bytes,
 * insertions, deletions, truncations, splices, absurd lengths and counts) and sent one by one and as streams of
 * several. {@link FrontendMessages} must judge each framed message with no exception and without looking past it,
 * never refuse a valid one, and the gateway's readers of message fields ({@link ExtendedNames},
 * {@link KeptStatement}, the SQL classifier) must read every message it accepts within that message's bytes.
 */
public class FrontendMessageFuzzTest {
    private static final String[] SQL = {"SELECT 1", "SELECT mtm.init_cluster($1, $2)", "BEGIN", "COMMIT",
        "CREATE TABLE t (i int)", "SELECT setval('s', $1)", "INSERT INTO t VALUES ($1)", "", "SELECT mtm.drop_node($1)"};
    private static final String[] NAMES = {"", "s1", "p1", "mtm_gateway_internal", "ü"};

    static byte[] message(byte type, Body body) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(type).writeInt(0);
        body.write(b);
        b.setInt(1, b.readableBytes() - 1);
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    interface Body {
        void write(ByteBuf b);
    }

    private static void cstring(ByteBuf b, String s) {
        b.writeBytes(s.getBytes(UTF_8)).writeByte(0);
    }

    private static void values(ByteBuf b, Random r, int n) {
        b.writeShort(n);
        for (int k = 0; k < n; k++) {
            if (r.nextInt(4) == 0) {
                b.writeInt(-1);
            } else {
                byte[] v = ("v" + r.nextInt(1000)).getBytes(UTF_8);
                b.writeInt(v.length).writeBytes(v);
            }
        }
    }

    static List<byte[]> valid(Random r) {
        List<byte[]> valid = new ArrayList<>();
        for (int k = 0; k < 8; k++) {
            String sql = SQL[r.nextInt(SQL.length)];
            String name = NAMES[r.nextInt(NAMES.length)];
            valid.add(message(PgWire.QUERY, b -> cstring(b, sql + "; " + SQL[r.nextInt(SQL.length)])));
            valid.add(message(PgWire.PARSE, b -> {
                cstring(b, name);
                cstring(b, sql);
                int n = r.nextInt(3);
                b.writeShort(n);
                for (int p = 0; p < n; p++) {
                    b.writeInt(p == 0 ? 25 : 0);
                }
            }));
            valid.add(message(PgWire.BIND, b -> {
                cstring(b, NAMES[r.nextInt(NAMES.length)]);
                cstring(b, r.nextBoolean() ? "s1" : "");
                int formats = r.nextInt(3);
                b.writeShort(formats);
                for (int f = 0; f < formats; f++) {
                    b.writeShort(r.nextInt(2));
                }
                values(b, r, r.nextInt(4));
                b.writeShort(1).writeShort(r.nextInt(2));
            }));
            valid.add(message(PgWire.EXECUTE, b -> {
                cstring(b, name);
                b.writeInt(r.nextInt(3));
            }));
            valid.add(message(PgWire.DESCRIBE, b -> {
                b.writeByte(r.nextBoolean() ? 'S' : 'P');
                cstring(b, name);
            }));
            valid.add(message(PgWire.CLOSE, b -> {
                b.writeByte(r.nextBoolean() ? 'S' : 'P');
                cstring(b, name);
            }));
            valid.add(message(PgWire.FUNCTION_CALL, b -> {
                b.writeInt(1598);
                b.writeShort(1).writeShort(0);
                values(b, r, r.nextInt(3));
                b.writeShort(0);
            }));
        }
        for (byte t : new byte[] {PgWire.SYNC, PgWire.FLUSH, PgWire.COPY_DONE, PgWire.TERMINATE}) {
            valid.add(message(t, b -> { }));
        }
        valid.add(message(PgWire.COPY_DATA, b -> b.writeBytes("1\tx\n".getBytes(UTF_8))));
        valid.add(message(PgWire.COPY_FAIL, b -> cstring(b, "client gave up")));
        return valid;
    }

    @Test
    public void everyFramedMessageIsAcceptedOrRefusedAndAcceptedOnesAreReadWithinTheirBytes() {
        Fuzz fuzz = Fuzz.of("FrontendMessageFuzzTest", 60_000);
        Random r = fuzz.random();
        List<byte[]> valid = valid(r);
        ExtendedNames names = new ExtendedNames();
        for (byte[] v : valid) {
            assertNull("a valid message is accepted: " + HexFormat.of().formatHex(v),
                FrontendMessages.violation(Unpooled.wrappedBuffer(v), 0, v.length));
        }
        int messages = 0;
        int refused = 0;
        for (int i = 0; i < fuzz.inputs; i++) {
            // one message, or a stream of several as a pipelining client sends them
            ByteBuf stream = Unpooled.buffer();
            for (int k = r.nextInt(4) == 0 ? 1 + r.nextInt(5) : 1; k > 0; k--) {
                stream.writeBytes(r.nextInt(3) == 0 ? valid.get(r.nextInt(valid.size())) : fuzz.next(valid));
            }
            byte[] input = new byte[stream.readableBytes()];
            stream.getBytes(0, input);
            try {
                int[] counted = frame(Unpooled.wrappedBuffer(input), names);
                messages += counted[0];
                refused += counted[1];
            } catch (RuntimeException | AssertionError e) {
                throw new AssertionError("input #" + i + " (seed " + fuzz.seed + "): " + HexFormat.of().formatHex(input)
                    + ": " + e, e);
            }
        }
        System.out.println("[fuzz] FrontendMessageFuzzTest: " + fuzz.inputs + " inputs, " + messages + " framed messages, "
            + refused + " refused as malformed");
    }

    /** Frames the stream as the session does, up to the first refusal; returns {messages framed, refused}. */
    private static int[] frame(ByteBuf in, ExtendedNames names) {
        int messages = 0;
        while (in.readableBytes() >= 5) {
            int ri = in.readerIndex();
            int length = in.getInt(ri + 1);
            if (length < 4 || length > Session.MAX_MESSAGE) {
                return new int[] {messages, 1}; // the session's own protocol violation (invalid length)
            }
            int total = 1 + length;
            if (in.readableBytes() < total) {
                return new int[] {messages, 0}; // waits for the rest
            }
            messages++;
            String inStream = FrontendMessages.violation(in, ri, total);
            ByteBuf alone = Unpooled.wrappedBuffer(copy(in, ri, total)); // ends where the message ends
            assertEquals("judged on its own bytes only", inStream, FrontendMessages.violation(alone, 0, total));
            if (inStream != null) {
                assertTrue(inStream, inStream.startsWith("invalid") || inStream.startsWith("insufficient data"));
                return new int[] {messages, 1};
            }
            read(alone, total, names);
            in.skipBytes(total);
        }
        return new int[] {messages, 0};
    }

    /** What the session reads of an accepted message's fields, on a buffer that ends with the message. */
    private static void read(ByteBuf in, int total, ExtendedNames names) {
        switch (in.getByte(0)) {
            case PgWire.QUERY -> SqlSplitter.split(new Latin1View(in, 5, Math.max(0, total - 6)), true);
            case PgWire.PARSE -> {
                int nameEnd = PgWire.cstringEnd(in, 5, total);
                int queryEnd = PgWire.cstringEnd(in, nameEnd + 1, total);
                SqlStatement st = SqlSplitter.classifyOne(new Latin1View(in, nameEnd + 1, queryEnd - nameEnd - 1), true);
                names.parsed(in, 0, nameEnd, st.replication().call() == null ? null
                    : new KeptStatement(st, null, null, false));
            }
            case PgWire.BIND -> names.bound(in, 0, total);
            case PgWire.CLOSE -> names.closed(in, 0, total);
            case PgWire.EXECUTE -> names.executed(in, 0, total);
            default -> { }
        }
    }

    private static byte[] copy(ByteBuf in, int from, int n) {
        byte[] b = new byte[n];
        in.getBytes(from, b);
        return b;
    }
}
