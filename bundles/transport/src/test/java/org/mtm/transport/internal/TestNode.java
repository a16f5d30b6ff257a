package org.mtm.transport.internal;

import java.io.IOException;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.mtm.api.Endpoint;

/** A real {@link PeerNetwork} on 127.0.0.1 that records what it is told. */
final class TestNode implements PeerEvents, AutoCloseable {
    record Received(int from, int channel, byte[] payload) {
    }

    final int id;
    final PeerNetwork network;
    final Endpoint endpoint;
    final List<Received> received = Collections.synchronizedList(new ArrayList<>());
    /** "+2" when peer 2 became reachable, "-2" when unreachable, in order. */
    final List<String> connectivity = Collections.synchronizedList(new ArrayList<>());
    final List<String> refusals = Collections.synchronizedList(new ArrayList<>());
    volatile byte[] heartbeat = new byte[0];

    TestNode(int id, String secret, TransportTimings timings, int port) throws IOException {
        this(id, secret, null, timings, port);
    }

    /** With mutual TLS ({@code tls} null = plain TCP). */
    TestNode(int id, String secret, TransportTls tls, TransportTimings timings, int port) throws IOException {
        this.id = id;
        this.network = new PeerNetwork(secret, tls, timings, this);
        this.endpoint = network.listen("127.0.0.1", port);
    }

    void join(Map<Integer, Endpoint> cluster) {
        network.configure(id, cluster);
    }

    List<Received> from(int peer, int channel) {
        synchronized (received) {
            return received.stream().filter(r -> r.from == peer && r.channel == channel).toList();
        }
    }

    List<String> connectivity() {
        synchronized (connectivity) {
            return List.copyOf(connectivity);
        }
    }

    @Override
    public void onMessage(int fromNode, int channel, byte[] payload) {
        received.add(new Received(fromNode, channel, payload));
    }

    @Override
    public void peerReachable(int node) {
        connectivity.add("+" + node);
    }

    @Override
    public void peerUnreachable(int node) {
        connectivity.add("-" + node);
    }

    @Override
    public byte[] heartbeatPayload() {
        return heartbeat;
    }

    @Override
    public void connectionRefused(SocketAddress remote, String reason) {
        refusals.add(reason);
    }

    @Override
    public void close() {
        network.close();
    }
}
