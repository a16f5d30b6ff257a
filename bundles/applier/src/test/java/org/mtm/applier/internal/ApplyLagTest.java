package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;

import com.codahale.metrics.Meter;
import org.junit.Test;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;

public class ApplyLagTest {
    private static final long S = 1_000_000_000L;

    @Test
    public void bytesAndSecondsBehindUntilWhatWasReceivedIsApplied() {
        ApplyLag lag = new ApplyLag();
        assertEquals(0, lag.bytes());
        lag.received(new PgOutputMessage.Begin(1000, 0, 7), 1 * S); // not a transaction's end
        assertEquals(0, lag.bytes());
        lag.received(new PgOutputMessage.Prepare(0, 1000, 1200, 0, 7, "MTM-1-7-3"), 2 * S);
        lag.received(new PgOutputMessage.Commit(0, 1300, 1500, 0), 3 * S);
        assertEquals(1500, lag.bytes());
        assertEquals(2.0, lag.seconds(4 * S), 1e-9); // behind since the first end received
        lag.applied(1200);
        assertEquals(300, lag.bytes());
        lag.applied(1500);
        assertEquals(0, lag.bytes());
        assertEquals(0.0, lag.seconds(5 * S), 1e-9);
        lag.received(new PgOutputMessage.RollbackPrepared(0, 1200, 1700, 0, 0, 7, "MTM-1-7-3"), 6 * S);
        assertEquals(200, lag.bytes());
        assertEquals(1.0, lag.seconds(7 * S), 1e-9); // behind again since 6 s, not since 2 s
        lag.applied(1100); // an older position changes nothing
        assertEquals(200, lag.bytes());
    }

    @Test
    public void countsCommitsOnly() {
        ApplyLag lag = new ApplyLag();
        Meter meter = new Meter();
        lag.countTo(meter);
        lag.committed(new PgOutputMessage.Commit(0, 1, 2, 0));
        lag.committed(new PgOutputMessage.CommitPrepared(0, 1, 2, 0, 7, "MTM-1-7-3"));
        lag.committed(new PgOutputMessage.Prepare(0, 1, 2, 0, 7, "MTM-1-7-3"));
        lag.committed(new PgOutputMessage.Begin(1, 0, 7));
        assertEquals(2, meter.getCount());
    }
}
