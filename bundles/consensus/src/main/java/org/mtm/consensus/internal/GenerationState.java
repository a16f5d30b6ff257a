package org.mtm.consensus.internal;

import org.mtm.api.Generation;
import org.mtm.api.NodeSet;

/**
 * What a node keeps durably about generations (DESIGN §3): the generation it is in, the highest
 * generation it promised to vote for, the last generation it was online in, and that generation's
 * donors. Stored in {@code mtm.generation_state}.
 */
public record GenerationState(Generation current, long lastVote, long lastOnlineIn, NodeSet donors) {
    public static final GenerationState NONE = new GenerationState(Generation.NONE, 0, 0, NodeSet.EMPTY);
}
