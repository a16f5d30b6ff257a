package org.mtm.applier.internal;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.mtm.api.ClusterState;
import org.mtm.api.Generation;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeStatus;
import org.mtm.api.PrepareAdmission;
import org.mtm.api.PrepareAdmission.Verdict;
import org.mtm.api.ReplicationPlan;
import org.mtm.api.StatusReport;

/**
 * A cluster state the test steers: the replication plan and the verdict of every PREPARE admission, which it
 * counts (asked, and still open). Generation 0, online: nothing is refused at BEGIN.
 */
final class TestClusterState implements ClusterState {
    private final int self;
    volatile ReplicationPlan plan = ReplicationPlan.NORMAL;
    volatile Verdict verdict = Verdict.APPLY;
    volatile long generation = 1;
    final AtomicInteger admissions = new AtomicInteger();
    final AtomicInteger open = new AtomicInteger();

    TestClusterState(int self) {
        this.self = self;
    }

    @Override
    public boolean loaded() {
        return true;
    }

    @Override
    public int selfId() {
        return self;
    }

    @Override
    public Generation currentGeneration() {
        return Generation.NONE;
    }

    @Override
    public NodeStatus status() {
        return NodeStatus.ONLINE;
    }

    @Override
    public StatusReport statusReport() {
        throw new UnsupportedOperationException();
    }

    @Override
    public List<NodeReport> nodeReports() {
        throw new UnsupportedOperationException();
    }

    @Override
    public ReplicationPlan replicationPlan() {
        return plan;
    }

    @Override
    public PrepareAdmission admitPrepare(long gen) {
        admissions.incrementAndGet();
        open.incrementAndGet();
        Verdict v = verdict;
        long current = generation;
        return new PrepareAdmission() {
            private boolean closed;

            @Override
            public Verdict verdict() {
                return v;
            }

            @Override
            public long generation() {
                return current;
            }

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    open.decrementAndGet();
                }
            }
        };
    }
}
