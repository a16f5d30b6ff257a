package org.mtm.transport.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import org.mtm.api.Endpoint;

/**
 * Speaks the wire format over a plain blocking socket, byte by byte as documented in
 * {@link FrameCodec}, to test what a misbehaving or hostile peer does to a node.
 */
final class RawPeer implements AutoCloseable {
    final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    RawPeer(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    static RawPeer connect(Endpoint to) throws IOException {
        return new RawPeer(new Socket(to.host(), to.port()));
    }

    void sendBytes(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    void send(Frame frame) throws IOException {
        ByteBuf buf = Unpooled.buffer();
        FrameCodec.encode(frame, buf);
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        sendBytes(bytes);
    }

    Frame read(int timeoutMillis) throws IOException {
        socket.setSoTimeout(timeoutMillis);
        int length = in.readInt();
        byte[] body = new byte[length];
        in.readFully(body);
        try {
            return FrameCodec.decode(Unpooled.buffer().writeInt(length).writeBytes(body), FrameCodec.MAX_FRAME_LENGTH);
        } catch (ProtocolException e) {
            throw new IOException("node sent a malformed frame: " + e.getMessage(), e);
        }
    }

    /** Client side of the handshake, as a node does it; returns the server's WELCOME. */
    Frame.Welcome authenticate(ClusterSecret secret, int selfId, int serverId) throws IOException {
        byte[] clientNonce = ClusterSecret.newNonce();
        send(new Frame.Hello(FrameCodec.PROTOCOL_VERSION, selfId, serverId, clientNonce));
        Frame.Challenge challenge = (Frame.Challenge) read(5000);
        send(new Frame.Proof(secret.clientProof(new ClusterSecret.Transcript(FrameCodec.PROTOCOL_VERSION,
            challenge.serverNonce(), clientNonce, selfId, serverId))));
        return (Frame.Welcome) read(5000);
    }

    /** Server side of the handshake; {@code welcomeMac} null = send the correct proof. */
    int acceptHandshake(ClusterSecret secret, int selfId, byte[] welcomeMac) throws IOException {
        Frame.Hello hello = (Frame.Hello) read(5000);
        byte[] serverNonce = ClusterSecret.newNonce();
        send(new Frame.Challenge(FrameCodec.PROTOCOL_VERSION, serverNonce));
        read(5000); // PROOF, not checked: this peer plays a server that may not know the secret
        ClusterSecret.Transcript t = new ClusterSecret.Transcript(FrameCodec.PROTOCOL_VERSION, serverNonce,
            hello.clientNonce(), hello.clientId(), selfId);
        send(new Frame.Welcome(welcomeMac != null ? welcomeMac : secret.serverProof(t)));
        return hello.clientId();
    }

    /** Whether the node closed this connection within {@code timeoutMillis} (reading and discarding). */
    boolean closedByNode(int timeoutMillis) throws IOException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < deadline) {
            socket.setSoTimeout((int) Math.max(1, deadline - System.currentTimeMillis()));
            try {
                if (in.read() < 0) {
                    return true;
                }
            } catch (SocketTimeoutException e) {
                return false;
            } catch (EOFException e) {
                return true;
            } catch (IOException e) {
                return true; // reset by the node
            }
        }
        return false;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
