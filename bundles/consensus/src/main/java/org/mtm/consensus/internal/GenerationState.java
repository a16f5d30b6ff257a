package org.mtm.consensus.internal;

import org.mtm.api.Generation;
import org.mtm.api.NodeSet;

/**
 * What a node keeps durably about generations (DESIGN §3): the generation it is in, the highest
 * generation it promised to vote for, the last generation it was online in, and that generation's
 * donors; and the configured set of the election it last voted yes for ({@code votedConfigured}: the
 * current one unless it voted for a change, mtm.drop_node). Stored in {@code mtm.generation_state}.
 */
public record GenerationState(Generation current, long lastVote, long lastOnlineIn, NodeSet donors,
                              NodeSet votedConfigured) {
    public static final GenerationState NONE = new GenerationState(Generation.NONE, 0, 0, NodeSet.EMPTY);

    /** A state that voted for nothing but its own configured set. */
    public GenerationState(Generation current, long lastVote, long lastOnlineIn, NodeSet donors) {
        this(current, lastVote, lastOnlineIn, donors, current.configured());
    }

    /** It voted yes for a change of the configured set that it has not adopted (yet). */
    public boolean changeVoted() {
        return !votedConfigured.equals(current.configured());
    }
}
