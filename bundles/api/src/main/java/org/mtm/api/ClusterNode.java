package org.mtm.api;

import java.util.Objects;

/**
 * One configured node: its id, the conninfo peers use to reach its PostgreSQL (as given to
 * {@code init_cluster}) and the transport address its Karaf node advertised.
 */
public record ClusterNode(int id, String conninfo, Endpoint transport) {
    public ClusterNode {
        if (id < 1 || id > NodeSet.MAX_NODE_ID) {
            throw new IllegalArgumentException("node id must be 1.." + NodeSet.MAX_NODE_ID + ", got " + id);
        }
        Objects.requireNonNull(conninfo, "conninfo");
        Objects.requireNonNull(transport, "transport");
    }
}
