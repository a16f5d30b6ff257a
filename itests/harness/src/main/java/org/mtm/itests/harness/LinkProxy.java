package org.mtm.itests.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;

/**
 * One directed network link between two nodes, as a TCP proxy on the loopback: the sending node connects here
 * (transport.peer_address.&lt;peer&gt;) and the proxy forwards to the peer's real port, a thread per direction per
 * connection. {@link #pause()} stops forwarding (bytes wait, nobody is told: a link that went silent),
 * {@link #cut()} closes every connection and refuses new ones (a link that is down), {@link #heal()} forwards again.
 */
public final class LinkProxy implements AutoCloseable {
    private enum State { FORWARDING, PAUSED, CUT }

    private final String name;
    private final IntSupplier targetPort;
    private final ServerSocket listener;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Object lock = new Object();
    private State state = State.FORWARDING; // guarded by lock
    private volatile boolean closed;

    /**
     * Listens on a free port of 127.0.0.1 at once; {@code targetPort} is asked at each new connection (the peer's
     * port may be known only after this proxy exists), and a connection is refused while it answers 0.
     */
    public LinkProxy(String name, IntSupplier targetPort) {
        this.name = name;
        this.targetPort = targetPort;
        try {
            this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException("link " + name + ": cannot listen", e);
        }
        daemon("accept", this::acceptLoop).start();
    }

    public int port() {
        return listener.getLocalPort();
    }

    public String address() {
        return "127.0.0.1:" + port();
    }

    /** Stops forwarding; the connections stay open and what is sent meanwhile waits in the proxy. */
    public void pause() {
        synchronized (lock) {
            if (state == State.FORWARDING) {
                state = State.PAUSED;
            }
        }
    }

    /** Closes every connection through the link and refuses new ones until {@link #heal()}. */
    public void cut() {
        synchronized (lock) {
            state = State.CUT;
            lock.notifyAll(); // paused forwarders end too
        }
        closeAll();
    }

    /** Forwards again (new connections are accepted, paused ones resume). */
    public void heal() {
        synchronized (lock) {
            state = State.FORWARDING;
            lock.notifyAll();
        }
    }

    @Override
    public void close() {
        closed = true;
        heal();
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        closeAll();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket from;
            try {
                from = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            int port = targetPort.getAsInt();
            if (isCut() || port == 0) {
                closeQuietly(from);
                continue;
            }
            Socket to = new Socket();
            try {
                to.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
                from.setTcpNoDelay(true);
                to.setTcpNoDelay(true);
            } catch (IOException e) {
                closeQuietly(from); // the peer is down: the sender sees the link fail, as without a proxy
                closeQuietly(to);
                continue;
            }
            open.add(from);
            open.add(to);
            daemon("forward", () -> forward(from, to)).start();
            daemon("backward", () -> forward(to, from)).start();
        }
    }

    private void forward(Socket in, Socket out) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream input = in.getInputStream(); OutputStream output = out.getOutputStream()) {
            int n;
            while ((n = input.read(buffer)) >= 0) {
                if (!awaitForwarding()) {
                    break;
                }
                output.write(buffer, 0, n);
                output.flush();
            }
        } catch (IOException e) {
            // one side closed or the link was cut: close both below
        } finally {
            closeQuietly(in);
            closeQuietly(out);
        }
    }

    /** Holds a forwarder while the link is paused; false once it is cut or closed. */
    private boolean awaitForwarding() {
        synchronized (lock) {
            while (state == State.PAUSED && !closed) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return state == State.FORWARDING && !closed;
        }
    }

    private boolean isCut() {
        synchronized (lock) {
            return state == State.CUT;
        }
    }

    private void closeAll() {
        for (Socket socket : open) {
            closeQuietly(socket);
        }
    }

    private void closeQuietly(Socket socket) {
        open.remove(socket);
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    private Thread daemon(String role, Runnable body) {
        Thread thread = new Thread(body, "link-" + name + "-" + role);
        thread.setDaemon(true);
        return thread;
    }

    @Override
    public String toString() {
        return "link " + name + " via " + address();
    }
}
