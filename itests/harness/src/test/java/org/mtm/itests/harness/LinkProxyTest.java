package org.mtm.itests.harness;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** The link proxy on real loopback sockets, in front of an echo server: forwards, pauses, cuts and heals. */
public class LinkProxyTest {
    private ServerSocket echo;
    private LinkProxy link;

    @Before
    public void startEchoAndProxy() throws IOException {
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread server = new Thread(() -> {
            while (!echo.isClosed()) {
                try {
                    Socket s = echo.accept();
                    Thread t = new Thread(() -> {
                        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                            in.transferTo(out);
                        } catch (IOException ignored) {
                            // the client or the proxy closed it
                        }
                    });
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        server.setDaemon(true);
        server.start();
        link = new LinkProxy("test", echo::getLocalPort);
    }

    @After
    public void stop() throws IOException {
        link.close();
        echo.close();
    }

    @Test
    public void forwardsBothWaysAndHoldsBytesWhilePaused() throws IOException {
        try (Socket client = connect()) {
            assertEquals('a', roundTrip(client, 'a'));
            link.pause();
            client.getOutputStream().write('b');
            assertThrows("nothing comes back while paused", SocketTimeoutException.class, () -> client.getInputStream().read());
            link.heal();
            assertEquals("held bytes arrive after the heal", 'b', client.getInputStream().read());
        }
    }

    @Test
    public void aCutClosesTheConnectionsAndRefusesNewOnesUntilHealed() throws IOException {
        try (Socket client = connect()) {
            assertEquals('a', roundTrip(client, 'a'));
            link.cut();
            assertEquals("the connection through the cut link is closed", -1, readOrEnd(client));
        }
        try (Socket refused = connect()) {
            assertEquals("a new connection is closed at once", -1, readOrEnd(refused));
        }
        link.heal();
        try (Socket client = connect()) {
            assertEquals('c', roundTrip(client, 'c'));
        }
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), link.port());
        socket.setSoTimeout(500);
        return socket;
    }

    private static int roundTrip(Socket client, char c) throws IOException {
        client.getOutputStream().write(c);
        return client.getInputStream().read();
    }

    /** -1 at end of stream, also when the proxy reset the connection. */
    private static int readOrEnd(Socket client) throws IOException {
        try {
            return client.getInputStream().read();
        } catch (java.net.SocketException reset) {
            return -1;
        }
    }
}
