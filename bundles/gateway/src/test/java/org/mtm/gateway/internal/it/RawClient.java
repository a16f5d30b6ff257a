package org.mtm.gateway.internal.it;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.mtm.api.Endpoint;

/**
 * A protocol-level client on a blocking socket, for the cases drivers do not produce on demand: arbitrary
 * pipelines, errors in the middle of them, extended-protocol COPY, Flush, raw startup packets. Messages are
 * buffered by the send methods and written by {@link #flush()}, so a whole pipeline leaves in one write.
 */
final class RawClient implements AutoCloseable {
    record Msg(char type, byte[] body) {
        String text() {
            return new String(body, 0, Math.max(0, body.length - 1), StandardCharsets.UTF_8);
        }

        /** A field of an ErrorResponse/NoticeResponse. */
        String field(char code) {
            int i = 0;
            while (i < body.length && body[i] != 0) {
                int end = i + 1;
                while (body[end] != 0) {
                    end++;
                }
                if (body[i] == code) {
                    return new String(body, i + 1, end - i - 1, StandardCharsets.UTF_8);
                }
                i = end + 1;
            }
            return null;
        }

        /** The first column of a DataRow, as text. */
        String column0() {
            int len = ByteBuffer.wrap(body).getInt(2);
            return len < 0 ? null : new String(body, 6, len, StandardCharsets.UTF_8);
        }

        char status() {
            return (char) body[0];
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    RawClient(Endpoint at) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress(at.host(), at.port()), 5000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** Connects and completes a trust-authenticated startup. */
    static RawClient open(Endpoint at) throws IOException {
        RawClient c = new RawClient(at);
        c.startup(TestPostgres.USER, TestPostgres.DATABASE);
        List<Msg> replies = c.readUntilReady();
        if (replies.get(replies.size() - 1).type() != 'Z') {
            throw new IOException("startup failed: " + replies);
        }
        return c;
    }

    void startup(String user, String database) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {0, 3, 0, 0});
        for (String s : new String[] {"user", user, "database", database, "application_name", "raw"}) {
            b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            b.write(0);
        }
        b.write(0);
        untyped(b.toByteArray());
        flush();
    }

    /** A startup-phase packet: length then body, no type byte. */
    void untyped(byte[] body) throws IOException {
        pending.writeBytes(ByteBuffer.allocate(4).putInt(body.length + 4).array());
        pending.writeBytes(body);
    }

    void message(char type, byte[] body) {
        pending.write(type);
        pending.writeBytes(ByteBuffer.allocate(4).putInt(body.length + 4).array());
        pending.writeBytes(body);
    }

    private static byte[] cstrings(String... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String p : parts) {
            b.writeBytes(p.getBytes(StandardCharsets.UTF_8));
            b.write(0);
        }
        return b.toByteArray();
    }

    RawClient query(String sql) {
        message('Q', cstrings(sql));
        return this;
    }

    RawClient parse(String name, String sql) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(cstrings(name, sql));
        b.write(0);
        b.write(0);
        message('P', b.toByteArray());
        return this;
    }

    RawClient bind(String portal, String statement) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(cstrings(portal, statement));
        b.writeBytes(new byte[] {0, 0, 0, 0, 0, 0});
        message('B', b.toByteArray());
        return this;
    }

    RawClient describe(char what, String name) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(what);
        b.writeBytes(cstrings(name));
        message('D', b.toByteArray());
        return this;
    }

    RawClient execute(String portal, int maxRows) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(cstrings(portal));
        b.writeBytes(ByteBuffer.allocate(4).putInt(maxRows).array());
        message('E', b.toByteArray());
        return this;
    }

    /** Parse + Bind + Execute of an unnamed statement. */
    RawClient run(String sql) {
        return parse("", sql).bind("", "").execute("", 0);
    }

    RawClient closeStatement(String name) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write('S');
        b.writeBytes(cstrings(name));
        message('C', b.toByteArray());
        return this;
    }

    RawClient sync() {
        message('S', new byte[0]);
        return this;
    }

    RawClient flushMessage() {
        message('H', new byte[0]);
        return this;
    }

    RawClient copyData(String data) {
        message('d', data.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    RawClient copyDone() {
        message('c', new byte[0]);
        return this;
    }

    RawClient copyFail(String why) {
        message('f', cstrings(why));
        return this;
    }

    RawClient functionCall(int oid, int intArg) {
        // one binary int4 argument, binary result
        ByteBuffer b = ByteBuffer.allocate(20);
        b.putInt(oid).putShort((short) 1).putShort((short) 1).putShort((short) 1).putInt(4).putInt(intArg)
                .putShort((short) 1);
        message('F', b.array());
        return this;
    }

    RawClient terminate() {
        message('X', new byte[0]);
        return this;
    }

    void flush() throws IOException {
        out.write(pending.toByteArray());
        out.flush();
        pending.reset();
    }

    int readByte() throws IOException {
        return in.read();
    }

    Msg read() throws IOException {
        char type = (char) in.readUnsignedByte();
        int len = in.readInt();
        byte[] body = new byte[len - 4];
        in.readFully(body);
        return new Msg(type, body);
    }

    /** Reads until a message of {@code type} (inclusive). */
    List<Msg> readUntil(char type) throws IOException {
        List<Msg> got = new ArrayList<>();
        Msg m;
        do {
            m = read();
            got.add(m);
        } while (m.type() != type);
        return got;
    }

    List<Msg> readUntilReady() throws IOException {
        return readUntil('Z');
    }

    /** The message types in order, e.g. "12CZ", skipping notices and parameter status. */
    static String types(List<Msg> msgs) {
        StringBuilder b = new StringBuilder();
        for (Msg m : msgs) {
            if (m.type() != 'N' && m.type() != 'S') {
                b.append(m.type());
            }
        }
        return b.toString();
    }

    static Msg first(List<Msg> msgs, char type) {
        return msgs.stream().filter(m -> m.type() == type).findFirst().orElseThrow(
                () -> new AssertionError("no '" + type + "' in " + types(msgs)));
    }

    /** True when the server closed the connection (EOF). */
    boolean closedByPeer() throws IOException {
        try {
            return in.read() < 0;
        } catch (EOFException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
