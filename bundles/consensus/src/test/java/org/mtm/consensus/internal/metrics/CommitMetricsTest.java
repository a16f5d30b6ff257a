package org.mtm.consensus.internal.metrics;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import com.codahale.metrics.MetricRegistry;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

public class CommitMetricsTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private final MetricRegistry registry = new MetricRegistry();
    private final CommitMetrics metrics = new CommitMetrics(registry);

    @Test
    public void anAcknowledgedCommitIsTimedOverallAndByPhase() {
        CommitTimes t = new CommitTimes(1000 * MS);
        t.prepared(1002 * MS);
        t.voted(1007 * MS);
        t.voted(1009 * MS); // a later mark of the same step changes nothing
        t.decided(1010 * MS);
        t.acknowledged(1015 * MS);
        metrics.committed();
        metrics.acknowledged(t);

        assertEquals(1, registry.counter("mtm.commit.committed").getCount());
        assertEquals(15 * MS, registry.timer("mtm.commit.latency").getSnapshot().getMax());
        assertEquals(2 * MS, registry.timer("mtm.commit.phase.prepare").getSnapshot().getMax());
        assertEquals(5 * MS, registry.timer("mtm.commit.phase.votes").getSnapshot().getMax());
        assertEquals(3 * MS, registry.timer("mtm.commit.phase.precommit").getSnapshot().getMax());
        assertEquals(5 * MS, registry.timer("mtm.commit.phase.commit").getSnapshot().getMax());
    }

    @Test
    public void aDecisionWithoutPrecommitRoundRecordsNoPrecommitPhase() {
        CommitTimes t = new CommitTimes(0 + MS);
        t.prepared(2 * MS);
        t.voted(4 * MS); // the finish marks voted and decided at the same instant
        t.decided(4 * MS);
        t.acknowledged(5 * MS);
        metrics.acknowledged(t);
        assertEquals(1, registry.timer("mtm.commit.phase.votes").getCount());
        assertEquals(0, registry.timer("mtm.commit.phase.precommit").getCount());
        assertEquals(1, registry.timer("mtm.commit.latency").getCount());
    }

    @Test
    public void abortsAreCountedPerSqlState() {
        metrics.aborted("40001");
        metrics.aborted("40001");
        metrics.aborted("57P03");
        metrics.aborted("not a state");
        metrics.outcomeUnknown();
        assertEquals(2, registry.counter("mtm.commit.aborted.40001").getCount());
        assertEquals(1, registry.counter("mtm.commit.aborted.57P03").getCount());
        assertEquals(1, registry.counter("mtm.commit.aborted.other").getCount());
        assertEquals(1, registry.counter("mtm.commit.unknown").getCount());
        assertEquals(0, registry.counter("mtm.commit.committed").getCount());
        assertFalse(registry.getCounters().containsKey("mtm.commit.aborted.not a state"));
    }

    @Test
    public void stepsNotPassedAreNotTimed() {
        CommitTimes t = new CommitTimes(MS);
        t.prepared(3 * MS);
        assertEquals(-1, t.votesNanos());
        assertEquals(-1, t.totalNanos());
        metrics.acknowledged(t);
        assertEquals(1, registry.timer("mtm.commit.phase.prepare").getCount());
        assertEquals(0, registry.timer("mtm.commit.latency").getCount());
    }
}
