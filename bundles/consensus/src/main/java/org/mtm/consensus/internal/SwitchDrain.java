package org.mtm.consensus.internal;

import java.util.concurrent.CompletionStage;
import org.mtm.api.Generation;

/**
 * Before a planned generation switch (a node added, dropped or taken in once caught up) the node that elects it
 * empties the commit path of the generation's members first (issue 15): each member holds new commits — they wait at
 * their admission, nothing fails — and reports once the commits it had begun have ended; then the switch aborts
 * nothing (no PREPARE is under way to be doomed by the switch, none of the old generation reaches a member that
 * switched first). Each member's hold ends by itself once it is in a newer generation, at its deadline, or when the
 * elector releases it (an election lost). Only liveness depends on this: every rule that keeps a switch safe still
 * applies to a commit that slips through (a drain not finished in time, an mtm too old to hold).
 */
public interface SwitchDrain {

    /**
     * Holds the commits of {@code current}'s members until they are in a generation above it (at most
     * {@code holdMs}) and completes once each reachable member reported its begun commits ended, or after
     * {@code drainMs} without it.
     */
    CompletionStage<Drain> drainBeforeSwitch(Generation current, long drainMs, long holdMs);

    /** The outcome of a drain. */
    interface Drain {
        /** Every member of the generation reported its commits ended in time. */
        boolean drained();

        /** Ends the hold on every member now (the switch did not happen). */
        void release();
    }
}
