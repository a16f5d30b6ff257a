package org.mtm.transport.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.mtm.api.Endpoint;

/**
 * A man in the middle on 127.0.0.1: relays TCP connections to {@code target} and, while {@link #flipping} is
 * set, flips one bit in every chunk going from the connecting side to the target.
 */
final class FlippingProxy implements AutoCloseable {
    volatile boolean flipping;
    final AtomicInteger flipped = new AtomicInteger();
    final AtomicInteger accepted = new AtomicInteger();
    private final ServerSocket server;
    private final Endpoint target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    FlippingProxy(Endpoint target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "flipping-proxy");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    Endpoint endpoint() {
        return new Endpoint("127.0.0.1", server.getLocalPort());
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket in = server.accept();
                Socket out = new Socket(target.host(), target.port());
                sockets.add(in);
                sockets.add(out);
                accepted.incrementAndGet();
                pump(in, out, true);
                pump(out, in, false);
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to, boolean towardsTarget) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream is = from.getInputStream(); OutputStream os = to.getOutputStream()) {
                int n;
                while ((n = is.read(buf)) > 0) {
                    if (towardsTarget && flipping) {
                        buf[n / 2] ^= 0x10;
                        flipped.incrementAndGet();
                    }
                    os.write(buf, 0, n);
                    os.flush();
                }
            } catch (IOException e) {
                // either side closed: close the other
            } finally {
                close(from);
                close(to);
            }
        }, "flipping-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            close(s);
        }
    }
}
