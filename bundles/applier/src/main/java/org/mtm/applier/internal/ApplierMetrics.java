package org.mtm.applier.internal;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import java.util.function.IntFunction;
import org.mtm.api.ReceiverMode;
import org.mtm.api.RecoveryProgress;
import org.mtm.api.metrics.BundleMetrics;

/**
 * The applier's metrics: per peer N, {@code mtm.apply.lag_bytes.nodeN} and {@code mtm.apply.lag_seconds.nodeN} (a normal
 * receiver's {@link ApplyLag}; a recovery receiver's bytes behind its donor's WAL end, its seconds not known: -1; no
 * receiver: 0) and {@code mtm.apply.mode.nodeN} (0 disabled, 1 recovery, 2 normal: {@code receiver_mode} of
 * {@code mtm.nodes()}); {@code mtm.apply.transactions}, a meter of the peers' transactions committed here (its rates are
 * the apply rate).
 */
final class ApplierMetrics {
    private final BundleMetrics metrics = new BundleMetrics();
    private final IntFunction<Receiver> receivers;
    private final Meter applied;

    ApplierMetrics(IntFunction<Receiver> receivers) {
        this.receivers = receivers;
        this.applied = metrics.registry().meter("mtm.apply.transactions");
    }

    Meter applied() {
        return applied;
    }

    /** Adds peer {@code node}'s gauges (once). */
    void peer(int node) {
        MetricRegistry r = metrics.registry();
        String suffix = ".node" + node;
        if (r.getGauges().containsKey("mtm.apply.mode" + suffix)) {
            return;
        }
        r.register("mtm.apply.lag_bytes" + suffix, (Gauge<Long>) () -> lagBytes(receivers.apply(node)));
        r.register("mtm.apply.lag_seconds" + suffix, (Gauge<Double>) () -> lagSeconds(receivers.apply(node)));
        r.register("mtm.apply.mode" + suffix, (Gauge<Integer>) () -> mode(receivers.apply(node)));
    }

    static long lagBytes(Receiver r) {
        if (r == null) {
            return 0;
        }
        if (r.mode() == ReceiverMode.RECOVERY) {
            RecoveryProgress p = r.recoveryProgress();
            return Math.max(0, p.lagBytes());
        }
        return r.lag().bytes();
    }

    static double lagSeconds(Receiver r) {
        if (r == null) {
            return 0;
        }
        return r.mode() == ReceiverMode.RECOVERY ? -1 : r.lag().seconds(System.nanoTime());
    }

    static int mode(Receiver r) {
        if (r == null) {
            return 0;
        }
        return switch (r.info().mode()) {
            case DISABLED -> 0;
            case RECOVERY -> 1;
            case NORMAL -> 2;
        };
    }

    void attach(MetricRegistry shared) {
        metrics.attach(shared);
    }

    void detach(MetricRegistry shared) {
        metrics.detach(shared);
    }

    void close() {
        metrics.close();
    }
}
