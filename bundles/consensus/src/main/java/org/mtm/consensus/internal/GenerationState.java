package org.mtm.consensus.internal;

import org.mtm.api.Generation;
import org.mtm.api.NodeSet;

/**
 * What a node keeps durably about generations (DESIGN §3): the generation it is in, the highest
 * generation number it promised (a yes vote, or the promise of a change election's first phase), the last
 * generation it was online in, and that generation's donors; and the change of the configured set it accepted
 * last and has not adopted ({@code votedConfigured}, the current set when none: mtm.add_node, mtm.drop_node) with
 * the number it accepted it at ({@code votedIn}, 0 when none) — a change election learns it in its first phase
 * (Paxos' accepted value and ballot, {@code lastVote} being the promise). Stored in {@code mtm.generation_state}.
 */
public record GenerationState(Generation current, long lastVote, long lastOnlineIn, NodeSet donors,
                              NodeSet votedConfigured, long votedIn) {
    public static final GenerationState NONE = new GenerationState(Generation.NONE, 0, 0, NodeSet.EMPTY);

    public GenerationState {
        // no change accepted: no number either (the rows before two-phase changes: see the 5-argument constructor)
        if (votedConfigured.equals(current.configured())) {
            votedIn = 0;
        }
    }

    /** A state that voted for nothing but its own configured set. */
    public GenerationState(Generation current, long lastVote, long lastOnlineIn, NodeSet donors) {
        this(current, lastVote, lastOnlineIn, donors, current.configured());
    }

    /**
     * Without the number a change was accepted at: before change elections had two phases a yes was the only way
     * {@code lastVote} moved while a change was voted, so that change was accepted at {@code lastVote}.
     */
    public GenerationState(Generation current, long lastVote, long lastOnlineIn, NodeSet donors,
                           NodeSet votedConfigured) {
        this(current, lastVote, lastOnlineIn, donors, votedConfigured, lastVote);
    }

    /** It voted yes for a change of the configured set that it has not adopted (yet). */
    public boolean changeVoted() {
        return !votedConfigured.equals(current.configured());
    }
}
