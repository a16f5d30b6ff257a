package org.mtm.api.metrics;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Histogram;
import com.codahale.metrics.Meter;
import com.codahale.metrics.Metric;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.MetricRegistryListener;
import com.codahale.metrics.Timer;

/**
 * The metrics one bundle records, kept in a registry of its own and shown in the node's shared registry while one is
 * bound ({@link #attach}/{@link #detach}, from an optional dynamic reference). The values live as long as the
 * recording component: an update of the bundle that publishes the shared registry (admin) loses nothing and never
 * touches the commit path, and an update of the recording bundle takes its metrics (gauges hold its objects) out of
 * the shared registry with it.
 */
public final class BundleMetrics {
    private final MetricRegistry own = new MetricRegistry();
    private MetricRegistry shared; // guarded by this
    private final MetricRegistryListener mirror = new MetricRegistryListener.Base() {
        @Override
        public void onGaugeAdded(String name, Gauge<?> gauge) {
            show(name, gauge);
        }

        @Override
        public void onCounterAdded(String name, Counter counter) {
            show(name, counter);
        }

        @Override
        public void onHistogramAdded(String name, Histogram histogram) {
            show(name, histogram);
        }

        @Override
        public void onMeterAdded(String name, Meter meter) {
            show(name, meter);
        }

        @Override
        public void onTimerAdded(String name, Timer timer) {
            show(name, timer);
        }

        @Override
        public void onGaugeRemoved(String name) {
            hide(name);
        }

        @Override
        public void onCounterRemoved(String name) {
            hide(name);
        }

        @Override
        public void onHistogramRemoved(String name) {
            hide(name);
        }

        @Override
        public void onMeterRemoved(String name) {
            hide(name);
        }

        @Override
        public void onTimerRemoved(String name) {
            hide(name);
        }
    };

    public BundleMetrics() {
        own.addListener(mirror);
    }

    /** This bundle's registry: create metrics here ({@code counter(name)}, {@code timer(name)}, {@code gauge(...)}). */
    public MetricRegistry registry() {
        return own;
    }

    /** Shows every metric of this bundle, now and later, in {@code registry} (a newer registry replaces the older). */
    public synchronized void attach(MetricRegistry registry) {
        if (shared != null && shared != registry) {
            own.getMetrics().keySet().forEach(this::hide);
        }
        shared = registry;
        own.getMetrics().forEach(this::show);
    }

    /** Takes this bundle's metrics out of {@code registry} (ignored unless it is the one attached). */
    public synchronized void detach(MetricRegistry registry) {
        if (shared == registry) {
            own.getMetrics().keySet().forEach(this::hide);
            shared = null;
        }
    }

    /** Takes this bundle's metrics out of the shared registry: the recording component stops. */
    public synchronized void close() {
        if (shared != null) {
            detach(shared);
        }
    }

    private synchronized void show(String name, Metric metric) {
        if (shared == null) {
            return;
        }
        // a metric of the same name left by an earlier instance of this bundle is replaced
        if (shared.getMetrics().get(name) != metric) {
            shared.remove(name);
            shared.register(name, metric);
        }
    }

    private synchronized void hide(String name) {
        if (shared == null) {
            return;
        }
        Metric ours = own.getMetrics().get(name);
        if (ours == null || shared.getMetrics().get(name) == ours) {
            shared.remove(name);
        }
    }
}
