package org.mtm.gateway.internal.session;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

import org.junit.After;
import org.junit.Test;
import org.mtm.api.Endpoint;
import org.mtm.gateway.internal.commit.Admission;
import org.mtm.gateway.internal.commit.DetachedStatements;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.TransactionCommitter;
import org.mtm.gateway.internal.protocol.PgWire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

/** The startup phase by {@code new}, on Netty's embedded channel as the client's connection (no backend, no network). */
public class SessionStartupTest {
    private final List<String> events = new ArrayList<>();
    private boolean full;
    private final EmbeddedChannel client = new EmbeddedChannel();
    private final SessionHost host = new SessionHost() {
        @Override
        public Endpoint backendEndpoint() {
            throw new UnsupportedOperationException();
        }

        @Override
        public TransactionCommitter committer() {
            throw new UnsupportedOperationException();
        }

        @Override
        public Admission admission() {
            throw new UnsupportedOperationException();
        }

        @Override
        public DetachedStatements detached() {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean wrapAutocommit() {
            return false;
        }

        @Override
        public boolean clusterInitialised() {
            return false;
        }

        @Override
        public boolean tooManyClients() {
            return full;
        }

        @Override
        public SurfaceFunctions surface() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void opened(Session session) {
        }

        @Override
        public void closed(Session session) {
        }

        @Override
        public void keyIssued(int pid, int secret, Session session) {
        }

        @Override
        public void keyRevoked(int pid, int secret) {
        }

        @Override
        public void cancelRequested(int pid, int secret) {
            events.add("cancel " + pid + "/" + secret);
        }

        @Override
        public void sendCancel(int pid, int secret) {
        }
    };
    private ByteBuf sentStartup;
    private final SessionStartup startup = new SessionStartup(host, client, new SessionStartup.Outcome() {
        @Override
        public void refused(ServerError fatal) {
            events.add("refused " + fatal.sqlState());
        }

        @Override
        public void cancelled() {
            events.add("cancelled");
        }

        @Override
        public void start(ByteBuf packet, boolean raw, StartupParameters params) {
            sentStartup = packet;
            events.add("start raw=" + raw + (params == null ? "" : " user=" + params.user() + " db=" + params.database()));
        }
    });

    @After
    public void release() {
        if (sentStartup != null) {
            sentStartup.release();
        }
        client.finishAndReleaseAll();
    }

    private static ByteBuf packet(int code, String... keyValues) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String s : keyValues) {
            body.writeBytes(s.getBytes(UTF_8));
            body.write(0);
        }
        if (keyValues.length > 0) {
            body.write(0);
        }
        ByteBuf b = Unpooled.buffer();
        b.writeInt(8 + body.size()).writeInt(code).writeBytes(body.toByteArray());
        return b;
    }

    @Test
    public void encryptionIsRefusedWithoutACertificateAndTheStartupGoesOn() {
        ByteBuf in = packet(PgWire.SSL_REQUEST);
        assertTrue(startup.read(in));
        ByteBuf answer = client.readOutbound();
        assertEquals('N', answer.readByte());
        answer.release();
        in.release();
        assertEquals(List.of(), events);
    }

    @Test
    public void theStartupMessageCarriesTheGatewaysSessionOption() {
        ByteBuf in = packet(196608, "user", "alice", "database", "shop");
        assertFalse(startup.read(in));
        assertFalse(in.isReadable());
        assertEquals(List.of("start raw=false user=alice db=shop"), events);
        assertTrue(sentStartup.toString(UTF_8), sentStartup.toString(UTF_8).contains(Session.GATEWAY_SESSION_OPTION));
        in.release();
    }

    @Test
    public void aReplicationConnectionIsRelayedUntouched() {
        ByteBuf in = packet(196608, "user", "alice", "replication", "database");
        ByteBuf copy = in.copy();
        assertFalse(startup.read(in));
        assertEquals(List.of("start raw=true user=alice db=alice"), events);
        assertEquals(copy, sentStartup);
        copy.release();
        in.release();
    }

    @Test
    public void aCancelRequestIsPassedOnAndTheConnectionEnds() {
        ByteBuf in = Unpooled.buffer().writeInt(16).writeInt(PgWire.CANCEL_REQUEST).writeInt(77).writeInt(99);
        assertFalse(startup.read(in));
        assertEquals(List.of("cancel 77/99", "cancelled"), events);
        in.release();
    }

    @Test
    public void refusals() {
        ByteBuf bad = Unpooled.buffer().writeInt(4).writeInt(0);
        assertFalse(startup.read(bad));
        bad.release();
        full = true;
        ByteBuf in = packet(196608, "user", "alice");
        assertFalse(startup.read(in));
        in.release();
        assertEquals(List.of("refused 08P01", "refused 53300"), events);
        assertNull(sentStartup);
    }

    @Test
    public void malformedStartupMessagesAreRefusedBeforeReachingPostgres() {
        // the pairs do not end with the terminator as the packet's last byte
        ByteBuf noTerminator = Unpooled.buffer().writeInt(8 + 11).writeInt(196608).writeBytes("user\0alice\0".getBytes(UTF_8));
        assertFalse(startup.read(noTerminator));
        noTerminator.release();
        ByteBuf noUser = packet(196608, "database", "shop");
        assertFalse(startup.read(noUser));
        noUser.release();
        ByteBuf version2 = packet(2 << 16, "user", "alice");
        assertFalse(startup.read(version2));
        version2.release();
        assertEquals(List.of("refused 08P01", "refused 28000", "refused 0A000"), events);
        assertNull(sentStartup);
    }

    @Test
    public void halfAPacketWaitsForTheRest() {
        ByteBuf whole = packet(196608, "user", "alice");
        ByteBuf half = whole.copy(0, whole.readableBytes() - 3);
        assertFalse(startup.read(half));
        assertEquals(0, half.readerIndex());
        assertEquals(List.of(), events);
        half.release();
        whole.release();
    }
}
