package org.mtm.api;

import java.util.List;

/** Cluster-wide administration behind {@code mtm.init_cluster} and the console's {@code mtm:init-cluster}. */
public interface ClusterAdministration {

    /**
     * Initialises the cluster: node ids 1..N in the order given (this node first), configuration and
     * generation 1 stored on every node. Fails, changing nothing, when a node is unreachable, has no
     * running mtm node beside it, or already belongs to another cluster.
     *
     * @return the configuration stored on this node
     */
    ClusterConfig initCluster(String myConninfo, List<String> peerConninfos) throws ClusterAdminException;
}
