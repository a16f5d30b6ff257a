package org.mtm.gateway.internal.protocol;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.ArrayList;
import java.util.List;

import org.junit.Test;
import org.mtm.gateway.internal.commit.ServerError;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;

public class PgWireTest {
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    /** Message types in order, checking every length field. */
    private static String types(ByteBuf b) {
        StringBuilder s = new StringBuilder();
        int i = b.readerIndex();
        while (i < b.writerIndex()) {
            s.append((char) b.getByte(i));
            i += 1 + b.getInt(i + 1);
        }
        assertEquals("lengths add up", b.writerIndex(), i);
        return s.toString();
    }

    @Test
    public void errorResponseRoundTrip() {
        ServerError e = new ServerError("ERROR", "42939", "name \"MTM-1\" is reserved; ж", "detail", "hint");
        ByteBuf b = PgWire.errorResponse(ALLOC, e);
        assertEquals("E", types(b));
        assertEquals(e, PgWire.readError(b));
        ByteBuf n = PgWire.noticeResponse(ALLOC, ServerError.warning("25P01", "there is no transaction in progress"));
        assertEquals("N", types(n));
        ServerError back = PgWire.readError(n);
        assertEquals("WARNING", back.severity());
        assertNull(back.detail());
    }

    @Test
    public void aFunctionsBlockRefusalBecomesPostgresRefusalOutsideABlock() {
        ByteBuf inFunction = PgWire.errorResponse(ALLOC, new ServerError("ERROR", "25001",
                "ALTER SUBSCRIPTION with refresh cannot run inside a transaction block", null, null,
                java.util.Map.of('W', "SQL function \"func\" statement 1")));
        ByteBuf changed = PgWire.outsideBlock(ALLOC, inFunction);
        ServerError back = PgWire.readError(changed);
        assertEquals("ALTER SUBSCRIPTION with refresh cannot be executed from a function", back.message());
        assertEquals("25001", back.sqlState());
        assertEquals("SQL function \"func\" statement 1", back.more().get('W'));
        // a top-level statement (no CONTEXT) or another error stays
        assertNull(PgWire.outsideBlock(ALLOC, PgWire.errorResponse(ALLOC, new ServerError("ERROR", "25001",
                "VACUUM cannot run inside a transaction block", null, null))));
        assertNull(PgWire.outsideBlock(ALLOC, PgWire.errorResponse(ALLOC, new ServerError("ERROR", "42P01",
                "relation \"x\" does not exist", null, null, java.util.Map.of('W', "SQL function \"f\" statement 1")))));
    }

    @Test
    public void ownStatementIsAFullExtendedExchange() {
        ByteBuf synced = PgWire.ownStatement(ALLOC, "SELECT 1", true);
        assertEquals("CCPBECCS", types(synced));
        ByteBuf unsynced = PgWire.ownStatement(ALLOC, "BEGIN", false);
        assertEquals("CCPBECC", types(unsynced));
        assertEquals(4, PgWire.OWN_STATEMENT_CLOSES);
        int parse = 2 * (1 + 4 + 1 + PgWire.OWN_NAME.length() + 1);
        assertEquals(PgWire.OWN_NAME, PgWire.cstring(synced, parse + 5, synced.writerIndex()));
        assertEquals("SELECT 1", PgWire.cstring(synced, parse + 5 + PgWire.OWN_NAME.length() + 1, synced.writerIndex()));
    }

    @Test
    public void simpleMessages() {
        assertEquals("C", types(PgWire.commandComplete(ALLOC, "COMMIT")));
        ByteBuf z = PgWire.readyForQuery(ALLOC, 'T');
        assertEquals("Z", types(z));
        assertEquals('T', z.getByte(5));
        ByteBuf text = Unpooled.copiedBuffer(new byte[] {'x', 'S', 'E', 'L', 'y'});
        ByteBuf q = PgWire.query(ALLOC, text, 1, 3);
        assertEquals("Q", types(q));
        assertEquals("SEL", PgWire.cstring(q, 5, q.writerIndex()));
        ByteBuf cancel = PgWire.cancelRequest(ALLOC, 7, -2);
        assertEquals(16, cancel.getInt(0));
        assertEquals(PgWire.CANCEL_REQUEST, cancel.getInt(4));
        assertEquals(-2, cancel.getInt(12));
    }

    @Test
    public void dataRowColumns() {
        ByteBuf row = ALLOC.buffer();
        row.writeByte('D').writeInt(0).writeShort(2).writeInt(3).writeBytes("123".getBytes()).writeInt(-1);
        row.setInt(1, row.writerIndex() - 1);
        List<String> expected = new ArrayList<>();
        expected.add("123");
        expected.add(null);
        assertEquals(expected, PgWire.readDataRow(row));
    }

    @Test
    public void literalsSurviveEitherStringSetting() {
        assertEquals("E'it''s \\\\ fine'", PgWire.literal("it's \\ fine"));
    }

    /** Fields of an ErrorResponse as code=value, in order. */
    private static String fields(ByteBuf msg) {
        StringBuilder b = new StringBuilder();
        int i = msg.readerIndex() + 5;
        while (msg.getByte(i) != 0) {
            char code = (char) msg.getByte(i++);
            int end = PgWire.cstringEnd(msg, i, msg.writerIndex());
            b.append(code).append('=').append(msg.toString(i, end - i, java.nio.charset.StandardCharsets.UTF_8)).append(' ');
            i = end + 1;
        }
        return b.toString().trim();
    }

    @Test
    public void errorPositionsMoveWithTheQueryTheyPointInto() {
        ByteBuf e = ALLOC.buffer().writeByte('E').writeInt(0);
        for (String f : new String[] {"SERROR", "C42601", "Msyntax error at end of input", "P28", "Fscan.l"}) {
            e.writeBytes(f.getBytes(java.nio.charset.StandardCharsets.UTF_8)).writeByte(0);
        }
        e.writeByte(0);
        e.setInt(1, e.writerIndex() - 1);
        ByteBuf back = PgWire.shiftPosition(ALLOC, e, 6);
        assertEquals("E", types(back));
        assertEquals("S=ERROR C=42601 M=syntax error at end of input P=22 F=scan.l", fields(back));
        assertEquals("S=ERROR C=42601 M=syntax error at end of input P=38 F=scan.l", fields(PgWire.shiftPosition(ALLOC, e, -10)));
        // a position inside the gateway's own prefix stays as it is
        assertEquals("S=ERROR C=42601 M=syntax error at end of input P=28 F=scan.l", fields(PgWire.shiftPosition(ALLOC, e, 30)));
    }

    private static ByteBuf error(String... fields) {
        ByteBuf e = ALLOC.buffer().writeByte('E').writeInt(0);
        for (String f : fields) {
            e.writeBytes(f.getBytes(java.nio.charset.StandardCharsets.UTF_8)).writeByte(0);
        }
        e.writeByte(0);
        e.setInt(1, e.writerIndex() - 1);
        return e;
    }

    @Test
    public void theClustersTriggerRaisesLoseTheirContextLine() {
        ByteBuf alone = error("SERROR", "C42P16", "Mcannot inherit from temporary relation \"t\"",
                "WPL/pgSQL function mtm.refuse_permanent_on_stand_in() line 29 at RAISE", "Fpl_exec.c");
        assertEquals(true, PgWire.namesClusterFunction(alone, 0, alone.readableBytes()));
        assertEquals("S=ERROR C=42P16 M=cannot inherit from temporary relation \"t\" F=pl_exec.c", fields(PgWire.mapPosition(ALLOC, alone, null)));
        // the user's own context stays, and so does a cluster function's line that is not its RAISE
        ByteBuf nested = error("SERROR", "C0A000", "Mü", "WPL/pgSQL function mtm.refuse_x(text) line 3 at RAISE\n"
                + "SQL statement \"CREATE TABLE ü ()\"\nPL/pgSQL function mtm.ensure_replica_identity() line 16 at FOR over SELECT rows");
        assertEquals("S=ERROR C=0A000 M=ü W=SQL statement \"CREATE TABLE ü ()\"\n"
                + "PL/pgSQL function mtm.ensure_replica_identity() line 16 at FOR over SELECT rows", fields(PgWire.mapPosition(ALLOC, nested, null)));
        ByteBuf users = error("SERROR", "C22012", "Mdivision by zero", "WPL/pgSQL function public.f() line 1 at RAISE");
        assertEquals(false, PgWire.namesClusterFunction(users, 0, users.readableBytes()));
    }
}
