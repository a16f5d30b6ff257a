package org.mtm.gateway.internal.session;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.Map;

import org.junit.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;

public class StartupParametersTest {
    private static final int V3 = 196608;
    private static final String SWITCH = "-c mtm.via_gateway=on";

    /** A StartupMessage with the pairs given as alternating names and values (bytes as they are). */
    private static ByteBuf startup(byte[]... pairs) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (byte[] p : pairs) {
            body.writeBytes(p);
            body.write(0);
        }
        body.write(0);
        ByteBuf b = Unpooled.buffer();
        b.writeInt(8 + body.size()).writeInt(V3).writeBytes(body.toByteArray());
        return b;
    }

    private static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    private static Map<String, String> rewritten(ByteBuf in) {
        ByteBuf out = StartupParameters.withOptions(ByteBufAllocator.DEFAULT, in, 0, in.readableBytes(), SWITCH);
        try {
            assertEquals("length field", out.readableBytes(), out.getInt(0));
            assertEquals("protocol version kept", V3, out.getInt(4));
            return StartupParameters.read(out, 8, out.readableBytes()).values();
        } finally {
            out.release();
        }
    }

    @Test
    public void optionsAreAddedAsTheLastPair() {
        Map<String, String> p = rewritten(startup(b("user"), b("alice"), b("database"), b("db")));
        assertEquals(Map.of("user", "alice", "database", "db", "options", SWITCH), p);
    }

    @Test
    public void theClientsOptionsAreKeptAndExtended() {
        assertEquals("-c search_path=app " + SWITCH,
                rewritten(startup(b("options"), b("-c search_path=app"), b("user"), b("bob"))).get("options"));
        assertEquals("an empty options value gets no leading space", SWITCH,
                rewritten(startup(b("user"), b("bob"), b("options"), b(""))).get("options"));
    }

    @Test
    public void otherBytesAreCopiedAsTheyAre() {
        byte[] latin1User = "jos\u00e9".getBytes(ISO_8859_1); // not valid UTF-8
        ByteBuf in = startup(b("user"), latin1User, b("application_name"), b("app"));
        ByteBuf out = StartupParameters.withOptions(ByteBufAllocator.DEFAULT, in, 0, in.readableBytes(), SWITCH);
        try {
            byte[] prefix = new byte[in.readableBytes() - 1 - 4];
            out.getBytes(4, prefix);
            byte[] original = new byte[in.readableBytes() - 1 - 4];
            in.getBytes(4, original);
            assertArrayEquals("everything up to the terminator unchanged", original, prefix);
        } finally {
            out.release();
        }
    }

    @Test
    public void aMalformedMessageIsPassedOnUnchanged() {
        ByteBuf in = Unpooled.buffer();
        in.writeInt(8 + 5).writeInt(V3).writeBytes(b("user")).writeByte('x'); // no terminators
        ByteBuf out = StartupParameters.withOptions(ByteBufAllocator.DEFAULT, in, 0, in.readableBytes(), SWITCH);
        try {
            assertEquals(in, out);
        } finally {
            out.release();
        }
    }

    @Test
    public void replicationConnectionsAreRecognised() {
        ByteBuf in = startup(b("user"), b("u"), b("replication"), b("database"));
        assertTrue(StartupParameters.read(in, 8, in.readableBytes()).replication());
        ByteBuf off = startup(b("user"), b("u"), b("replication"), b("off"));
        assertFalse(StartupParameters.read(off, 8, off.readableBytes()).replication());
    }
}
