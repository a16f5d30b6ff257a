package org.mtm.api;

import java.util.List;

/** The node's view of the cluster: who it is, its generation, its status, its peers. */
public interface ClusterState {

    /** This node's id, or 0 before {@code init_cluster}. */
    int selfId();

    Generation currentGeneration();

    NodeStatus status();

    /** {@code mtm.status()}. */
    StatusReport statusReport();

    /** {@code mtm.nodes()}, ordered by id. */
    List<NodeReport> nodeReports();
}
