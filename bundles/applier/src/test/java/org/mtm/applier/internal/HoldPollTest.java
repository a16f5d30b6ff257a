package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/**
 * How long a receiver holding its peer's slot waits between polls: a PREPARE or COMMIT PREPARED arriving meanwhile
 * waits with it, so a busy stream is polled every millisecond and only an idle one every 20.
 */
public class HoldPollTest {
    @Test
    public void aStreamWithARecentMessageIsPolledEveryMillisecond() {
        assertEquals(1, Receiver.holdPollMs(0));
        assertEquals(1, Receiver.holdPollMs(Receiver.HOLD_BUSY_MS - 1));
    }

    @Test
    public void anIdleStreamIsPolledSlowly() {
        assertEquals(20, Receiver.holdPollMs(Receiver.HOLD_BUSY_MS));
        assertEquals(20, Receiver.holdPollMs(60_000));
    }
}
