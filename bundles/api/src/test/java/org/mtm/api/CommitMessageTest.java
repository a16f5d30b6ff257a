package org.mtm.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.Arrays;
import org.junit.Test;

public class CommitMessageTest {
    private static final Gid GID = new Gid(2, 777, 3);

    @Test
    public void roundTripsEveryKind() {
        for (CommitMessage.Kind k : CommitMessage.Kind.values()) {
            CommitMessage m = CommitMessage.of(k, GID);
            assertEquals(m, CommitMessage.decode(m.encode()));
        }
        CommitMessage no = CommitMessage.abortedVote(GID, "40001", "could not serialize access — ünïcode");
        assertEquals(no, CommitMessage.decode(no.encode()));
    }

    @Test
    public void rejectsMalformedBytes() {
        byte[] ok = CommitMessage.of(CommitMessage.Kind.PREPARED, GID).encode();
        assertThrows(IllegalArgumentException.class, () -> CommitMessage.decode(Arrays.copyOf(ok, ok.length - 3)));
        assertThrows(IllegalArgumentException.class, () -> CommitMessage.decode(new byte[0]));
        byte[] badKind = ok.clone();
        badKind[1] = 99;
        assertThrows(IllegalArgumentException.class, () -> CommitMessage.decode(badKind));
        byte[] longer = Arrays.copyOf(ok, ok.length + 1);
        assertThrows(IllegalArgumentException.class, () -> CommitMessage.decode(longer));
    }
}
