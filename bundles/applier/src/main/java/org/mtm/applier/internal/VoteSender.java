package org.mtm.applier.internal;

import org.mtm.api.CommitMessage;

/**
 * Where the applier's 3PC answers go: PREPARED/ABORTED votes and COMMITTED acknowledgements to a
 * transaction's coordinator (its origin node). The DS component sends them over the transport on
 * {@link org.mtm.api.Channels#COMMIT}; tests record them.
 */
interface VoteSender {
    void send(int node, CommitMessage message);
}
