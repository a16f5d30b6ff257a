package org.mtm.api.metrics;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import org.junit.Test;

public class BundleMetricsTest {

    @Test
    public void metricsRecordedBeforeAndAfterAttachShowInTheSharedRegistry() {
        BundleMetrics metrics = new BundleMetrics();
        Counter early = metrics.registry().counter("mtm.commit.committed");
        early.inc(3);
        MetricRegistry shared = new MetricRegistry();
        metrics.attach(shared);
        assertSame(early, shared.getCounters().get("mtm.commit.committed"));
        metrics.registry().counter("mtm.commit.aborted.40001").inc();
        assertEquals(1, shared.getCounters().get("mtm.commit.aborted.40001").getCount());
    }

    @Test
    public void valuesSurviveANewSharedRegistry() {
        BundleMetrics metrics = new BundleMetrics();
        MetricRegistry first = new MetricRegistry();
        metrics.attach(first);
        metrics.registry().counter("c").inc(5);
        MetricRegistry second = new MetricRegistry(); // the admin bundle was updated
        metrics.detach(first);
        metrics.attach(second);
        assertTrue(first.getMetrics().isEmpty());
        assertEquals(5, second.getCounters().get("c").getCount());
    }

    @Test
    public void aNewerInstanceReplacesAGaugeLeftByAnOlderOneAndTheOlderDoesNotRemoveIt() {
        MetricRegistry shared = new MetricRegistry();
        BundleMetrics older = new BundleMetrics();
        older.attach(shared);
        older.registry().gauge("g", () -> (Gauge<Integer>) () -> 1);
        BundleMetrics newer = new BundleMetrics();
        newer.attach(shared);
        newer.registry().gauge("g", () -> (Gauge<Integer>) () -> 2);
        older.close();
        assertEquals(2, shared.getGauges().get("g").getValue());
        newer.close();
        assertFalse(shared.getMetrics().containsKey("g"));
    }

    @Test
    public void detachOfARegistryNotAttachedChangesNothing() {
        BundleMetrics metrics = new BundleMetrics();
        MetricRegistry shared = new MetricRegistry();
        metrics.attach(shared);
        metrics.registry().counter("c");
        metrics.detach(new MetricRegistry());
        assertTrue(shared.getMetrics().containsKey("c"));
    }
}
