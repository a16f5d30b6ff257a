package org.mtm.applier.internal.pgoutput;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.time.Instant;

import org.junit.Test;

public class LsnAndTimestampTest {

    @Test
    public void lsnFormatsLikeTheServer() {
        assertEquals("0/0", Lsn.format(0));
        assertEquals("0/16B3748", Lsn.format(0x16B3748L));
        assertEquals("1/0", Lsn.format(1L << 32));
        assertEquals("FFFFFFFF/FFFFFFFF", Lsn.format(-1L));
    }

    @Test
    public void lsnParsesWhatItFormats() {
        for (long lsn : new long[] {0, 0x16B3748L, 0x1A2B3C4DL, (5L << 32) | 0xABCL, -1L}) {
            assertEquals(lsn, Lsn.parse(Lsn.format(lsn)));
        }
        assertEquals(0x1A2B3C4DL, Lsn.parse("0/1a2b3c4d"));
    }

    @Test
    public void lsnRejectsNonsense() {
        for (String bad : new String[] {"", "/", "0/", "/0", "0", "0/G", "123456789/0", "0/123456789", "0/-1", "+0/1", "0/+1", "0/1/2", "0/ 1"}) {
            IllegalArgumentException e = assertThrows(bad, IllegalArgumentException.class, () -> Lsn.parse(bad));
            assertEquals(true, e.getMessage().contains("\"" + bad + "\""));
        }
    }

    @Test
    public void timestampsCountMicrosecondsFrom2000() {
        assertEquals(Instant.parse("2000-01-01T00:00:00Z"), PgTimestamp.toInstant(0));
        assertEquals(Instant.parse("1999-12-31T23:59:59.999999Z"), PgTimestamp.toInstant(-1));
        Instant t = Instant.parse("2024-05-06T07:08:09.123456Z");
        assertEquals(t, PgTimestamp.toInstant(PgTimestamp.fromInstant(t)));
        assertEquals(768_294_489_123_456L, PgTimestamp.fromInstant(t)); // computed independently
        assertEquals(0, PgTimestamp.fromInstant(Instant.parse("2000-01-01T00:00:00.000000999Z")));
    }
}
