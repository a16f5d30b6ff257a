package org.mtm.web.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class StatusHistoryTest {

    @Test
    public void ratesBetweenNeighbouringSamplesAndLagPerPeer() {
        StatusHistory h = new StatusHistory(10);
        h.record(new StatusHistory.Sample(10_000, 100, 50, Map.of(2, 0L, 3, 10L)));
        h.record(new StatusHistory.Sample(11_000, 130, 60, Map.of(2, 5L, 3, 20L)));
        h.record(new StatusHistory.Sample(13_000, 170, 60, Map.of(2, 0L)));
        StatusHistory.Series s = h.series();
        assertEquals(List.of(11L, 13L), s.time());
        assertEquals(List.of(30.0, 20.0), s.commitsPerSecond());
        assertEquals(List.of(10.0, 0.0), s.appliedPerSecond());
        assertEquals(List.of(5L, 0L), s.lagBytes().get(2));
        assertEquals("no receiver for node 3 at the last sample", Arrays.asList(20L, null), s.lagBytes().get(3));
    }

    @Test
    public void keepsTheNewestSamplesOnly() {
        StatusHistory h = new StatusHistory(3);
        for (int i = 0; i < 10; i++) {
            h.record(new StatusHistory.Sample(1000L * i, i, 0, Map.of()));
        }
        assertEquals(List.of(8L, 9L), h.series().time());
    }

    @Test
    public void aRestartedCounterGivesNoRateAndTheClockGoingBackIsIgnored() {
        StatusHistory h = new StatusHistory(5);
        h.record(new StatusHistory.Sample(1000, 500, 0, Map.of()));
        h.record(new StatusHistory.Sample(2000, 3, 0, Map.of()));
        h.record(new StatusHistory.Sample(1500, 900, 0, Map.of()));
        StatusHistory.Series s = h.series();
        assertEquals(1, s.time().size());
        assertNull(s.commitsPerSecond().get(0));
        assertThrows(IllegalArgumentException.class, () -> new StatusHistory(1));
    }
}
