package org.mtm.api;

import java.util.List;
import java.util.Optional;

/** The cluster configuration as one node stores it: who it is and who the others are. */
public record ClusterConfig(int selfId, List<ClusterNode> nodes) {
    public ClusterConfig {
        nodes = List.copyOf(nodes);
        if (node(selfId, nodes).isEmpty()) {
            throw new IllegalArgumentException("self id " + selfId + " is not among the configured nodes");
        }
    }

    private static Optional<ClusterNode> node(int id, List<ClusterNode> nodes) {
        return nodes.stream().filter(n -> n.id() == id).findFirst();
    }

    public Optional<ClusterNode> node(int id) {
        return node(id, nodes);
    }

    public ClusterNode self() {
        return node(selfId).orElseThrow();
    }

    public List<ClusterNode> peers() {
        return nodes.stream().filter(n -> n.id() != selfId).toList();
    }

    public NodeSet configured() {
        return NodeSet.of(nodes.stream().map(ClusterNode::id).toList());
    }
}
