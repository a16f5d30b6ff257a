package org.mtm.gateway.internal;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.mtm.api.Endpoint;

/**
 * Whether the gateway would be an open door. The gateway relays each client's StartupMessage to its PostgreSQL
 * over the loopback, so whatever that server lets in from the loopback without a password (an existing server
 * whose pg_hba.conf trusts the loopback; a managed one never does) it lets in from wherever the gateway listens, as any user,
 * superuser included. A gateway on a non-loopback address therefore asks its server once, at start, whether a
 * loopback connection as the cluster user gets in without a password, and refuses to listen if it does.
 */
final class LoopbackTrust {
    private static final int AUTHENTICATION_OK = 0;

    private LoopbackTrust() {
    }

    /** Whether {@code host} reaches this host's loopback only (a wildcard or another address does not). */
    static boolean loopbackOnly(String host) {
        try {
            return !host.isEmpty() && InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** Whether the server's first answer to a StartupMessage ({@code type}, then its first Int32) admits the client. */
    static boolean admitsWithoutPassword(byte type, int code) {
        return type == 'R' && code == AUTHENTICATION_OK;
    }

    /**
     * Sends {@code server} a StartupMessage as {@code user} with no password and reads its first answer.
     *
     * @throws IOException when the server cannot be asked
     */
    static boolean trusts(Endpoint server, String user, String database) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(server.host(), server.port()), 5000);
            s.setSoTimeout(5000);
            byte[] body = ("user\0" + user + "\0database\0" + database + "\0application_name\0mtm_gateway_check\0\0")
                    .getBytes(StandardCharsets.UTF_8);
            OutputStream out = s.getOutputStream();
            out.write(ByteBuffer.allocate(8 + body.length).putInt(8 + body.length).putInt(3 << 16).put(body).array());
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte type = in.readByte();
            int length = in.readInt();
            int code = length >= 8 ? in.readInt() : -1;
            boolean admitted = admitsWithoutPassword(type, code);
            if (admitted) {
                out.write(new byte[] {'X', 0, 0, 0, 4}); // Terminate: no "unexpected EOF" in the server's log
                out.flush();
            }
            return admitted;
        }
    }
}
