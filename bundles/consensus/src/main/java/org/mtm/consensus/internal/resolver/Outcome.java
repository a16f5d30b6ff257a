package org.mtm.consensus.internal.resolver;

/** How a distributed transaction ended, once decided. */
public enum Outcome {
    COMMITTED,
    ABORTED
}
