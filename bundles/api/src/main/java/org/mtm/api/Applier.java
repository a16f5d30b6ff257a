package org.mtm.api;

import java.util.Optional;

/** Applies the changes peers stream to this node. */
public interface Applier {
    Optional<ReceiverInfo> receiver(int peer);

    /** Progress of the recovery receiver of a {@link ReplicationPlan.Mode#RECOVERY} plan; NONE otherwise. */
    RecoveryProgress recovery();

    /**
     * Why a receiver's stream is stuck on a transaction this node can neither apply nor vote down (committed on its
     * origin outside the cluster's commit), or empty. While it is, the node is {@link NodeStatus#DISABLED}: it must
     * not claim to be online while its peer's later transactions wait behind that one.
     */
    default Optional<String> stalled() {
        return Optional.empty();
    }
}
