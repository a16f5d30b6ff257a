package org.mtm.consensus.internal.generation;

import org.mtm.consensus.internal.GenerationState;

/**
 * What a voter answers and the durable state it must have persisted before the answer leaves: on a yes,
 * {@code newState.lastVote()} is the requested number (the promise the candidate's donor choice relies on).
 */
public record VoteResult(ElectionAnswer answer, GenerationState newState) {

    /** True when {@link #newState()} differs from the state voted from and must be persisted first. */
    public boolean mustPersist() {
        return answer.yes();
    }
}
