package org.mtm.itests.harness;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every directed transport link i→j of an N-node cluster through its own {@link LinkProxy}: node i is configured
 * (before its first start) to reach peer j at the proxy, which forwards to j's transport port. Node ids are the
 * 1-based positions of {@link LocalCluster}. The peers' replication connections to PostgreSQL are not proxied.
 */
public final class TransportLinks implements AutoCloseable {
    /** LocalCluster's node names: node&lt;id&gt;, or node&lt;id&gt;-boot2 for a second try at booting. */
    private static final Pattern NODE_NAME = Pattern.compile("node(\\d+)");
    private final int size;
    private final Map<Integer, Integer> transportPorts = new ConcurrentHashMap<>();
    private final Map<String, LinkProxy> links = new TreeMap<>();

    public TransportLinks(int size) {
        this.size = size;
        for (int from = 1; from <= size; from++) {
            for (int to = 1; to <= size; to++) {
                if (from != to) {
                    int target = to;
                    links.put(key(from, to), new LinkProxy(key(from, to), () -> transportPorts.getOrDefault(target, 0)));
                }
            }
        }
    }

    /**
     * For {@link LocalCluster#boot(String, int, java.util.function.Consumer)}: routes the node's links to its peers
     * through the proxies, and the proxies towards it to its transport port.
     */
    public void configure(KarafNode node) {
        Matcher name = NODE_NAME.matcher(node.name());
        if (!name.lookingAt()) {
            throw new IllegalArgumentException("not a node of LocalCluster: " + node.name());
        }
        int id = Integer.parseInt(name.group(1));
        transportPorts.put(id, node.transportPort());
        for (int peer = 1; peer <= size; peer++) {
            if (peer != id) {
                node.configure("org.mtm.node.cfg", "transport.peer_address." + peer, link(id, peer).address());
            }
        }
    }

    /** The directed link {@code from}→{@code to}: what {@code from} sends to {@code to}. */
    public LinkProxy link(int from, int to) {
        LinkProxy link = links.get(key(from, to));
        if (link == null) {
            throw new IllegalArgumentException("no link " + key(from, to) + " in a cluster of " + size);
        }
        return link;
    }

    /** Cuts both directions between {@code a} and {@code b}. */
    public void cut(int a, int b) {
        link(a, b).cut();
        link(b, a).cut();
    }

    /** Every link forwards again. */
    public void healAll() {
        links.values().forEach(LinkProxy::heal);
    }

    @Override
    public void close() {
        links.values().forEach(LinkProxy::close);
    }

    private static String key(int from, int to) {
        return from + "->" + to;
    }
}
