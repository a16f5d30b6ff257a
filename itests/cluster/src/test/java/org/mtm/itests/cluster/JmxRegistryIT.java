package org.mtm.itests.cluster;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;

import org.junit.After;
import org.junit.Test;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.Poll;

/**
 * A node whose JMX registry port is taken while Karaf's management bundle starts gets its JMX once the port is free,
 * without a restart of the node: mtm's JMX guard sees the registry silent and restarts that bundle.
 *
 * <p>Karaf itself never retries: its management activator logs "Port already in use" and the node stays without JMX
 * until the bundle starts again. Every Karaf boot starts that activator twice (a configuration update right after the
 * first start), and the second start sometimes finds the port still held by the first one's closing socket — seen in
 * CI as "node2: JMX connection failed" for the whole of a test. Here another process holds the port (it accepts and
 * closes every connection, so that Karaf's own lookup of an existing registry fails at once), which fails both
 * starts deterministically.
 */
public class JmxRegistryIT {
    private KarafNode node;
    private Path postgresRoot;

    @After
    public void stopNode() {
        if (node != null) {
            node.close();
        }
        KarafNode.deletePostgresRoot(postgresRoot);
    }

    @Test
    public void aNodeWhoseRegistryPortWasTakenAtStartGetsItsJmxOnceThePortIsFree() throws Exception {
        Path assembly = Path.of(System.getProperty("mtm.assembly"));
        Path work = Path.of(System.getProperty("mtm.work", "target/mtm-work")).resolve("jmx-registry");
        postgresRoot = KarafNode.postgresRoot("mtm-jmx-it-");
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        node = KarafNode.create("node1", assembly, work.resolve("node1"), postgresRoot, HexFormat.of().formatHex(secret));
        int port = node.rmiRegistryPort();
        Path log = node.home().resolve("data/log/karaf.log");

        try (Squatter squatter = new Squatter(port)) {
            node.start().awaitReady(Duration.ofMinutes(3));
            Poll.until("Karaf's management bundle found port " + port + " taken", Duration.ofSeconds(60), Duration.ofMillis(250),
                () -> Files.exists(log) && Files.readString(log).contains("Port already in use: " + port));
            UncheckedIOException refused = assertThrows("no JMX while the port is held by another process",
                UncheckedIOException.class, () -> node.nodeMBean("Role"));
            assertTrue(refused.getMessage(), refused.getMessage().contains("JMX connection failed"));
        }

        // no restart of the node: the guard probes every 5 s and restarts the management bundle after 8 s of silence
        Map<String, Object> mbean = Poll.until("node1's JMX after the port was freed", Duration.ofSeconds(90), Duration.ofMillis(500),
            () -> node.nodeMBean("Role"), m -> "node".equals(String.valueOf(m.get("Role"))));
        assertEquals("node", String.valueOf(mbean.get("Role")));
        String karafLog = Files.readString(log);
        assertTrue("the guard says what it did and why:\n" + node.logTail(20),
            karafLog.contains("JMX: Karaf's RMI registry at 127.0.0.1:" + port + " has not answered")
                && karafLog.contains("restarting bundle org.apache.karaf.management.server"));
    }

    /** Holds a loopback port: accepts and closes every connection at once. */
    private static final class Squatter implements AutoCloseable {
        private final ServerSocket socket;
        private final Thread acceptor;

        Squatter(int port) throws IOException {
            socket = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
            acceptor = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept()) {
                        // closed at once
                    } catch (IOException e) {
                        // closed: the loop ends
                    }
                }
            }, "squatter-" + port);
            acceptor.setDaemon(true);
            acceptor.start();
        }

        @Override
        public void close() throws Exception {
            socket.close();
            acceptor.join(5_000);
        }
    }
}
