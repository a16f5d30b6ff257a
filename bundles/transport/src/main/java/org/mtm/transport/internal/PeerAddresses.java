package org.mtm.transport.internal;

import java.util.HashMap;
import java.util.Map;
import org.mtm.api.Endpoint;

/**
 * Node-local overrides of where this node connects for a peer: keys {@code transport.peer_address.<id> = host:port}
 * of PID {@code org.mtm.node} (behind NAT, or a test proxy on one link). A peer without a key is reached at the
 * transport address stored in the cluster catalog. Only outbound links use them; what peers advertise is unchanged.
 */
record PeerAddresses(Map<Integer, Endpoint> overrides) {
    static final String PREFIX = "transport.peer_address.";
    static final PeerAddresses NONE = new PeerAddresses(Map.of());

    PeerAddresses {
        overrides = Map.copyOf(overrides);
    }

    /** The overrides among a component's configuration properties; a malformed key or value is refused. */
    static PeerAddresses of(Map<String, ?> properties) {
        Map<Integer, Endpoint> overrides = new HashMap<>();
        properties.forEach((key, value) -> {
            if (!key.startsWith(PREFIX)) {
                return;
            }
            int peer;
            try {
                peer = Integer.parseInt(key.substring(PREFIX.length()).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + ": the key must end with a node id", e);
            }
            overrides.put(peer, Endpoint.parse(String.valueOf(value).trim()));
        });
        return new PeerAddresses(overrides);
    }

    /** The catalog's peer endpoints with the overrides applied. */
    Map<Integer, Endpoint> applyTo(Map<Integer, Endpoint> catalog) {
        Map<Integer, Endpoint> peers = new HashMap<>(catalog);
        peers.replaceAll((peer, endpoint) -> overrides.getOrDefault(peer, endpoint));
        return peers;
    }
}
