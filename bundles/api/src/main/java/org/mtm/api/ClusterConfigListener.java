package org.mtm.api;

import java.util.Optional;

/** Whiteboard: told when the local node's stored cluster configuration is loaded or changes. */
public interface ClusterConfigListener {
    void clusterConfigChanged(Optional<ClusterConfig> config);
}
