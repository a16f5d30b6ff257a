package org.mtm.api;

import java.util.Optional;

/** Applies the changes peers stream to this node. */
public interface Applier {
    Optional<ReceiverInfo> receiver(int peer);
}
