package org.mtm.consensus.internal;

import java.lang.annotation.Annotation;
import java.util.List;
import org.mtm.api.ClusterState;
import org.mtm.api.Generation;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.StatusReport;
import org.mtm.api.Transport;

/** A coordinator's surroundings for unit tests: node 1 of three, online; peers reachable but never answering. */
final class CoordinatorFixtures {
    static final NodeSet ALL = NodeSet.of(1, 2, 3);

    private CoordinatorFixtures() {
    }

    /** Node 1 of three, online in the generation {@code generation} gives. */
    static ClusterState node1Of(java.util.function.Supplier<Generation> generation) {
        return new ClusterState() {
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
                return generation.get();
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
    }

    /** Peers reachable; messages go nowhere (no peer answers here). */
    static final Transport SILENT_PEERS = new SilentPeers();

    /** Peers 2 and 3, reachable and linked, that answer nothing ({@link RecordingPeers} also records what they got). */
    static class SilentPeers implements Transport {
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
            for (int peer : reachablePeers().ids()) {
                send(peer, channel, payload);
            }
            return reachablePeers();
        }
    }

    static final CommitCoordinator.Config CONFIG = new CommitCoordinator.Config() {
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

    static GenerationGate gateIn(long generation) {
        GenerationGate gate = new GenerationGate();
        gate.loaded(generation);
        return gate;
    }
}
