package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.lang.annotation.Annotation;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Test;
import org.mtm.api.ClusterState;
import org.mtm.api.Coordinator.CommitRefusedException;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.Generation;
import org.mtm.api.Gid;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.StatusReport;
import org.mtm.api.Transport;

/**
 * A participant the cluster excluded ends the transactions that wait for it as a lost one would: node 3, cut off
 * from node 1 only (an edge partition), is left out of the new generation {1,2} but stays reachable from node 2,
 * whose coordinator waited the whole decision timeout for its vote — the transaction stayed prepared on node 2 after
 * the others had rolled it back (fault battery). Now it is aborted with 40001 as soon as the generation changes.
 */
public class CommitCoordinatorSwitchTest {
    private static final NodeSet ALL = NodeSet.of(1, 2, 3);
    private volatile Generation generation = new Generation(1, ALL, ALL);

    /** Node 1 of three, online in generation 1; peers reachable; messages go nowhere (no peer answers here). */
    private final ClusterState state = new ClusterState() {
        @Override
        public boolean loaded() {
            return true;
        }

        @Override
        public int selfId() {
            return 1;
        }

        @Override
        public Generation currentGeneration() {
            return generation;
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
            return List.of();
        }

        @Override
        public org.mtm.api.ReplicationPlan replicationPlan() {
            return org.mtm.api.ReplicationPlan.NORMAL;
        }

        @Override
        public org.mtm.api.PrepareAdmission admitPrepare(long generation) {
            return org.mtm.api.PrepareAdmission.unchecked(org.mtm.api.PrepareAdmission.Verdict.APPLY, generation);
        }
    };

    private static final Transport SILENT_PEERS = new Transport() {
        @Override
        public NodeSet reachablePeers() {
            return NodeSet.of(2, 3);
        }

        @Override
        public NodeSet linkedPeers() {
            return NodeSet.of(2, 3);
        }

        @Override
        public boolean send(int peer, int channel, byte[] payload) {
            return true;
        }

        @Override
        public NodeSet broadcast(int channel, byte[] payload) {
            return NodeSet.of(2, 3);
        }
    };

    private static final CommitCoordinator.Config CONFIG = new CommitCoordinator.Config() {
        @Override
        public Class<? extends Annotation> annotationType() {
            return CommitCoordinator.Config.class;
        }

        @Override
        public boolean wait__peer__commits() {
            return true;
        }

        @Override
        public int heartbeat__recv__timeout() {
            return 2000;
        }

        @Override
        public boolean tx__delay__on__slow__catchup() {
            return false;
        }

        @Override
        public int max__tx__delay__on__slow__catchup() {
            return 0;
        }
    };

    private final CommitCoordinator coordinator = new CommitCoordinator(state, SILENT_PEERS, null, new SilentResolver(),
        gateIn(1), CONFIG);

    private static GenerationGate gateIn(long generation) {
        GenerationGate gate = new GenerationGate();
        gate.loaded(generation);
        return gate;
    }

    @After
    public void stop() {
        coordinator.deactivate();
    }

    @Test
    public void aTransactionWaitingForAMemberTheNewGenerationLeftOutIsAbortedAtOnce() throws Exception {
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid); // waits for the votes of 2 and 3, which never come
        Thread.sleep(300);
        assertFalse("still voting in generation 1", decision.isDone());
        generation = new Generation(2, NodeSet.of(1, 2), ALL); // node 3 left out; still reachable from here
        Decision d = decision.get(5, TimeUnit.SECONDS); // the decision timeout is 60 s
        assertFalse(d.commit());
        assertEquals("40001", d.sqlState());
        assertTrue(d.message(), d.message().contains("node 3 left the cluster's generation"));
    }

    @Test
    public void aGenerationThatKeepsEveryParticipantChangesNothing() throws Exception {
        Gid gid = coordinator.begin(100);
        var decision = coordinator.prepared(gid);
        generation = new Generation(2, ALL, ALL);
        Thread.sleep(500);
        assertFalse("every participant is still a member: the votes are awaited", decision.isDone());
    }
}
