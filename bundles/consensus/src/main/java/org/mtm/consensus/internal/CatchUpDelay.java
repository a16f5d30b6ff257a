package org.mtm.consensus.internal;

/**
 * {@code tx_delay_on_slow_catchup} (manual F.31.4.7): while a peer catching up is far behind, each commit this node
 * coordinates is acknowledged to its client a little later, so that closed-loop writers slow down and the peer
 * closes in. Pure: the delay for the largest catch-up lag the peers report in their heartbeats.
 *
 * <p>No delay within {@link #LAG_FREE_BYTES} (the peer is about to ask to join: GenerationRunner's threshold);
 * beyond it one millisecond per {@link #LAG_FREE_BYTES} of lag, from 1 ms up to {@link #MAX_DELAY_MS} (the manual's
 * "from 1 ms to about 4 seconds"), or up to {@code max_tx_delay_on_slow_catchup} when that is set (0: no bound of
 * its own; values outside 1..4000 are clamped to it).
 */
final class CatchUpDelay {
    static final long LAG_FREE_BYTES = GenerationRunner.CAUGHT_UP_BYTES;
    static final long MAX_DELAY_MS = 4_000;

    private CatchUpDelay() {
    }

    /**
     * @param enabled    {@code tx_delay_on_slow_catchup}
     * @param maxDelayMs {@code max_tx_delay_on_slow_catchup}
     * @param lagBytes   the largest lag a connected peer that catches up reports; -1 when none does
     * @return how long to hold a commit's acknowledgement, in ms (0: not at all)
     */
    static long delayMs(boolean enabled, int maxDelayMs, long lagBytes) {
        if (!enabled || lagBytes <= LAG_FREE_BYTES) {
            return 0;
        }
        long cap = maxDelayMs <= 0 ? MAX_DELAY_MS : Math.min(maxDelayMs, MAX_DELAY_MS);
        return Math.max(1, Math.min(cap, lagBytes / LAG_FREE_BYTES));
    }
}
