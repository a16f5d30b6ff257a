package org.mtm.consensus.internal.generation;

import java.nio.ByteBuffer;
import java.util.Objects;
import org.mtm.api.NodeSet;

/**
 * A voter's answer to the {@link ElectionRequest} for generation {@code num}. It always carries the voter's durable
 * numbers: a yes needs {@code voterLastOnlineIn} to pick the donors, a refusal tells the candidate which number to
 * beat next time. The answer to a change election's first phase ({@code promise}) also carries the change the voter
 * accepted last and has not adopted ({@code votedConfigured}, its configured set when none) and the number it
 * accepted it at ({@code votedIn}, 0 when none), as they were before the promise.
 *
 * @param refusal why the voter said no, for the log; empty on a yes
 */
public record ElectionAnswer(int voter, long num, boolean yes, long voterGen, long voterLastOnlineIn,
                             long voterLastVote, String refusal, boolean promise, NodeSet votedConfigured,
                             long votedIn) implements GenerationMessage {

    /** The answer to an ordinary request or to the second phase of a change. */
    public ElectionAnswer(int voter, long num, boolean yes, long voterGen, long voterLastOnlineIn, long voterLastVote,
                          String refusal) {
        this(voter, num, yes, voterGen, voterLastOnlineIn, voterLastVote, refusal, false, NodeSet.EMPTY, 0);
    }

    public ElectionAnswer {
        if (voter < 1 || voter > NodeSet.MAX_NODE_ID) {
            throw new IllegalArgumentException("election voter must be a node id, got " + voter);
        }
        Objects.requireNonNull(votedConfigured, "votedConfigured");
        refusal = refusal == null ? "" : refusal;
    }

    /** A promise (answer to a first phase) naming a change the voter accepted at {@link #votedIn()}. */
    public boolean reportsChange() {
        return promise && yes && votedIn > 0;
    }

    @Override
    public byte[] encode() {
        byte[] text = GenerationMessage.utf8(refusal);
        ByteBuffer b = ByteBuffer.allocate(2 + 4 + 8 + 1 + 8 * 3 + (promise ? 16 : 0) + 4 + text.length)
            .put(VERSION).put(promise ? KIND_PROMISE : KIND_ANSWER)
            .putInt(voter).putLong(num).put((byte) (yes ? 1 : 0))
            .putLong(voterGen).putLong(voterLastOnlineIn).putLong(voterLastVote);
        if (promise) {
            b.putLong(votedConfigured.mask()).putLong(votedIn);
        }
        return b.putInt(text.length).put(text).array();
    }

    @Override
    public String toString() {
        String verb = promise ? (yes ? " promises gen " : " refuses to promise gen ") : (yes ? " votes for gen "
            : " refuses gen ");
        return "node " + voter + verb + num + (yes ? "" : ": " + refusal)
            + (reportsChange() ? ", accepted configured " + votedConfigured + " in gen " + votedIn : "")
            + " (its gen " + voterGen + ", online in " + voterLastOnlineIn + ", last vote " + voterLastVote + ")";
    }
}
