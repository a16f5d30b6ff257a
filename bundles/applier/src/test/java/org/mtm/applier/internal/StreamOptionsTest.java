package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;

import java.util.Map;
import org.junit.Test;

/** The pgoutput options a receiver asks a peer for, by the peer's PostgreSQL major version. */
public class StreamOptionsTest {
    @Test
    public void postgres15StreamsEveryOriginAndTheAppliersFilterOnTheOriginMessage() {
        assertEquals(Map.of("proto_version", "3", "publication_names", "mtm_publication", "two_phase", "on", "messages", "true"),
                Receiver.streamOptions(15));
    }

    @Test
    public void everyVersionStreamsEveryOriginForTheForeignHoldAndRecovery() {
        for (int major : new int[] {15, 16, 17}) {
            assertEquals("PostgreSQL " + major, Receiver.streamOptions(15), Receiver.streamOptions(major));
            assertEquals("PostgreSQL " + major, Receiver.streamOptions(15), Receiver.recoveryStreamOptions(major));
        }
    }
}
