package org.mtm.itests.harness;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free TCP ports on the loopback, never 5432; all ports of one call are distinct.
 *
 * <p>The ports are drawn at random from below the kernel's ephemeral range (ip_local_port_range, usually
 * 32768–60999): a node binds its ports many seconds after they were chosen (Karaf boots first), and a port from
 * the ephemeral range can meanwhile become the source port of any outgoing connection on the machine — a busy build
 * machine makes thousands — so that the node's bind fails with "Address already in use".
 *
 * <p>A port is handed out once per JVM: the nodes of a cluster take their ports in separate calls, long before they
 * bind them, so a port free at the second call may be one the first call gave (seen: node 1's transport port was node
 * 2's SSH port, and node 1's transport never started).
 */
public final class FreePorts {
    private static final int LOWEST = 20000;
    /** Every port this JVM handed out (guarded by the class). */
    private static final Set<Integer> GIVEN = new HashSet<>();

    private FreePorts() {
    }

    public static synchronized int[] take(int count) {
        int highest = ephemeralLow() - 1;
        List<ServerSocket> held = new ArrayList<>();
        Set<Integer> tried = new HashSet<>();
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; ) {
                // an odd range or an exhausted one: any free port (the old behaviour) rather than none
                int candidate = highest > LOWEST + 1000 && tried.size() < 5000
                    ? ThreadLocalRandom.current().nextInt(LOWEST, highest + 1) : 0;
                if (candidate != 0 && !tried.add(candidate)) {
                    continue;
                }
                ServerSocket socket;
                try {
                    socket = new ServerSocket(candidate, 1, InetAddress.getLoopbackAddress());
                } catch (IOException taken) {
                    continue;
                }
                held.add(socket);
                if (socket.getLocalPort() != 5432 && GIVEN.add(socket.getLocalPort())) {
                    ports[i++] = socket.getLocalPort();
                }
            }
            return ports;
        } finally {
            for (ServerSocket socket : held) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // the port is released either way
                }
            }
        }
    }

    public static int take() {
        return take(1)[0];
    }

    /** The first port of the kernel's ephemeral range, 32768 when it cannot be read. */
    static int ephemeralLow() {
        try {
            // readAllLines, not readString: /proc files report size 0 and readString returns a truncated text
            String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32768;
        }
    }
}
