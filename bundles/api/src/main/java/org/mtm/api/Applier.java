package org.mtm.api;

import java.util.Optional;

/** Applies the changes peers stream to this node. */
public interface Applier {
    Optional<ReceiverInfo> receiver(int peer);

    /** Progress of the recovery receiver of a {@link ReplicationPlan.Mode#RECOVERY} plan; NONE otherwise. */
    RecoveryProgress recovery();
}
