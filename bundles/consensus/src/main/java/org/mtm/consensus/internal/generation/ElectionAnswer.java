package org.mtm.consensus.internal.generation;

import java.nio.ByteBuffer;
import org.mtm.api.NodeSet;

/**
 * A voter's answer to the {@link ElectionRequest} for generation {@code num}. It always carries the voter's durable
 * numbers: a yes needs {@code voterLastOnlineIn} to pick the donors, a refusal tells the candidate which number to
 * beat next time.
 *
 * @param refusal why the voter said no, for the log; empty on a yes
 */
public record ElectionAnswer(int voter, long num, boolean yes, long voterGen, long voterLastOnlineIn,
                             long voterLastVote, String refusal) implements GenerationMessage {

    public ElectionAnswer {
        if (voter < 1 || voter > NodeSet.MAX_NODE_ID) {
            throw new IllegalArgumentException("election voter must be a node id, got " + voter);
        }
        refusal = refusal == null ? "" : refusal;
    }

    @Override
    public byte[] encode() {
        byte[] text = GenerationMessage.utf8(refusal);
        return ByteBuffer.allocate(2 + 4 + 8 + 1 + 8 * 3 + 4 + text.length)
            .put(VERSION).put(KIND_ANSWER)
            .putInt(voter).putLong(num).put((byte) (yes ? 1 : 0))
            .putLong(voterGen).putLong(voterLastOnlineIn).putLong(voterLastVote)
            .putInt(text.length).put(text)
            .array();
    }

    @Override
    public String toString() {
        return "node " + voter + (yes ? " votes for gen " + num : " refuses gen " + num + ": " + refusal)
            + " (its gen " + voterGen + ", online in " + voterLastOnlineIn + ", last vote " + voterLastVote + ")";
    }
}
