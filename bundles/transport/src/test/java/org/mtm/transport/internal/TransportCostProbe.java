package org.mtm.transport.internal;

import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.mtm.api.Channels;
import org.mtm.api.Endpoint;
import org.mtm.api.NodeSet;
import org.mtm.testing.Await;
import org.mtm.testing.TestCertificates;

/**
 * Not a test: a measurement, run only with {@code -Dtransport.probe=true} (skipped otherwise; it asserts nothing about
 * time). Two real {@link PeerNetwork}s in this JVM, plain and with mutual TLS; C client threads on node 1 each send a
 * 40-byte message to node 2 and wait for its 40-byte answer, which node 2's handler sends from the transport thread
 * that delivered the request (as a vote answers a prepare). Prints, per round trip (two messages): the CPU of every
 * {@code mtm-transport-*} thread (both nodes) and their voluntary context switches (wake-ups), and the frames per write
 * batch. Issue 10: the transport's cost per message with and without TLS, before and after a change.
 *
 * <pre>mvn -o -pl bundles/transport test -Dtest=TransportCostProbe -Dtransport.probe=true [-Dprobe.clients=6 -Dprobe.trips=20000]</pre>
 */
public class TransportCostProbe {
    @ClassRule
    public static final TemporaryFolder DIR = new TemporaryFolder();
    private static final TransportTimings STEADY = new TransportTimings(100, 3000, 2000);

    /** Answers every COMMIT request from the delivering thread; hands answers to the waiting client. */
    private static final class Events implements PeerEvents {
        volatile PeerNetwork self;
        final Map<Integer, SynchronousQueue<Boolean>> waiting = new ConcurrentHashMap<>();

        @Override
        public void onMessage(int fromNode, int channel, byte[] payload) {
            if (channel != Channels.COMMIT) {
                return;
            }
            int client = ByteBuffer.wrap(payload).getInt();
            if (payload[4] == 0) {
                byte[] answer = payload.clone();
                answer[4] = 1;
                self.send(fromNode, Channels.COMMIT, answer);
            } else {
                waiting.get(client).offer(Boolean.TRUE);
            }
        }

        @Override
        public void peerReachable(int node) {
        }

        @Override
        public void peerUnreachable(int node) {
        }

        @Override
        public byte[] heartbeatPayload() {
            return new byte[0];
        }

        @Override
        public void connectionRefused(SocketAddress remote, String reason) {
        }
    }

    @Test
    public void roundTripCost() throws Exception {
        assumeTrue("a measurement: -Dtransport.probe=true", Boolean.getBoolean("transport.probe"));
        LogCapture.install();
        int clients = Integer.getInteger("probe.clients", 6);
        int trips = Integer.getInteger("probe.trips", 20000);
        Path dir = DIR.newFolder("tls").toPath();
        TestCertificates.Authority ca = TestCertificates.authority(dir, "cluster-ca");
        for (String mode : new String[] {"plain", "tls", "plain", "tls"}) {
            TransportTls tls1 = null;
            TransportTls tls2 = null;
            if (mode.equals("tls")) {
                TestCertificates.Issued c1 = ca.issueNode("node1", 1);
                TestCertificates.Issued c2 = ca.issueNode("node2", 2);
                tls1 = TransportTls.of(new TransportTls.Settings(ca.cert().toString(), c1.cert().toString(), c1.key().toString()));
                tls2 = TransportTls.of(new TransportTls.Settings(ca.cert().toString(), c2.cert().toString(), c2.key().toString()));
            }
            run(mode, tls1, tls2, clients, trips / 4); // warm-up
            run(mode, tls1, tls2, clients, trips);
        }
    }

    private static void run(String mode, TransportTls tls1, TransportTls tls2, int clients, int trips) throws Exception {
        Events e1 = new Events();
        Events e2 = new Events();
        TransportCounters counters1 = new TransportCounters();
        TransportCounters counters2 = new TransportCounters();
        try (PeerNetwork n1 = new PeerNetwork("probe-secret", tls1, STEADY, e1, counters1);
             PeerNetwork n2 = new PeerNetwork("probe-secret", tls2, STEADY, e2, counters2)) {
            e1.self = n1;
            e2.self = n2;
            Endpoint a = n1.listen("127.0.0.1", 0);
            Endpoint b = n2.listen("127.0.0.1", 0);
            Map<Integer, Endpoint> cluster = new HashMap<>();
            cluster.put(1, a);
            cluster.put(2, b);
            n1.configure(1, cluster);
            n2.configure(2, cluster);
            Await.equal(10_000, "linked", NodeSet.of(2), n1::linkedPeers);
            Await.equal(10_000, "linked", NodeSet.of(1), n2::linkedPeers);
            long[] before = transportThreads();
            long frames0 = counters1.framesWritten() + counters2.framesWritten();
            long batches0 = counters1.writeBatches() + counters2.writeBatches();
            AtomicLong done = new AtomicLong();
            CountDownLatch end = new CountDownLatch(clients);
            long t0 = System.nanoTime();
            for (int c = 0; c < clients; c++) {
                int client = c;
                SynchronousQueue<Boolean> q = new SynchronousQueue<>();
                e1.waiting.put(client, q);
                Thread t = new Thread(() -> {
                    try {
                        byte[] p = new byte[40];
                        ByteBuffer.wrap(p).putInt(client);
                        while (done.incrementAndGet() <= trips) {
                            if (!n1.send(2, Channels.COMMIT, p) || q.poll(5, TimeUnit.SECONDS) == null) {
                                throw new IllegalStateException("lost a round trip");
                            }
                        }
                    } catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    } finally {
                        end.countDown();
                    }
                }, "probe-client-" + c);
                t.start();
            }
            end.await();
            long wall = System.nanoTime() - t0;
            long[] after = transportThreads();
            long frames = counters1.framesWritten() + counters2.framesWritten() - frames0;
            long batches = counters1.writeBatches() + counters2.writeBatches() - batches0;
            System.out.printf("PROBE %-5s clients %d trips %d: %.0f trips/s, transport CPU %.1f us/trip, wake-ups %.2f/trip,"
                    + " involuntary switches %.2f/trip, frames per write batch %s%n", mode, clients, trips,
                trips / (wall / 1e9), (after[0] - before[0]) / 1e3 / trips, (after[1] - before[1]) / (double) trips,
                (after[2] - before[2]) / (double) trips, batches == 0 ? "n/a" : String.format("%.2f", frames / (double) batches));
        }
    }

    /** CPU nanoseconds, voluntary and involuntary context switches of every mtm-transport-* thread of this JVM. */
    private static long[] transportThreads() throws IOException {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long cpu = 0;
        for (ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info != null && info.getThreadName().startsWith("mtm-transport-")) {
                cpu += Math.max(0, mx.getThreadCpuTime(info.getThreadId()));
            }
        }
        long vol = 0;
        long inv = 0;
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                String comm;
                try {
                    comm = Files.readString(t.resolve("comm")).trim();
                } catch (IOException gone) {
                    continue;
                }
                if (!comm.startsWith("mtm-transport-")) {
                    continue;
                }
                for (String line : Files.readAllLines(t.resolve("status"))) {
                    if (line.startsWith("voluntary_ctxt_switches:")) {
                        vol += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    } else if (line.startsWith("nonvoluntary_ctxt_switches:")) {
                        inv += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                    }
                }
            }
        }
        return new long[] {cpu, vol, inv};
    }
}
