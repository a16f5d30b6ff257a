package org.mtm.consensus.internal.metrics;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's {@link CommitRecorder} as Dropwizard metrics: {@code mtm.commit.latency} and
 * {@code mtm.commit.phase.<prepare|votes|precommit|commit>} (timers of acknowledged commits), counters
 * {@code mtm.commit.committed}, {@code mtm.commit.aborted.<SQLSTATE>} and {@code mtm.commit.unknown}.
 */
public final class CommitMetrics implements CommitRecorder {
    private final MetricRegistry registry;
    private final Timer latency;
    private final Timer prepare;
    private final Timer votes;
    private final Timer precommit;
    private final Timer commit;

    public CommitMetrics(MetricRegistry registry) {
        this.registry = registry;
        latency = registry.timer("mtm.commit.latency");
        prepare = registry.timer("mtm.commit.phase.prepare");
        votes = registry.timer("mtm.commit.phase.votes");
        precommit = registry.timer("mtm.commit.phase.precommit");
        commit = registry.timer("mtm.commit.phase.commit");
        registry.counter("mtm.commit.committed");
        registry.counter("mtm.commit.unknown");
    }

    @Override
    public void committed() {
        registry.counter("mtm.commit.committed").inc();
    }

    @Override
    public void aborted(String sqlState) {
        registry.counter("mtm.commit.aborted." + cause(sqlState)).inc();
    }

    @Override
    public void outcomeUnknown() {
        registry.counter("mtm.commit.unknown").inc();
    }

    @Override
    public void acknowledged(CommitTimes t) {
        record(latency, t.totalNanos());
        record(prepare, t.prepareNanos());
        record(votes, t.votesNanos());
        record(precommit, t.precommitNanos());
        record(commit, t.commitNanos());
    }

    /** A SQLSTATE is five characters of [0-9A-Z]; anything else is counted as {@code other}. */
    static String cause(String sqlState) {
        return sqlState != null && sqlState.matches("[0-9A-Z]{5}") ? sqlState : "other";
    }

    private static void record(Timer timer, long nanos) {
        if (nanos >= 0) {
            timer.update(nanos, TimeUnit.NANOSECONDS);
        }
    }
}
