package org.mtm.api;

import java.util.List;
import java.util.Optional;

/** The node's view of the cluster: who it is, its generation, its status, its peers. */
public interface ClusterState {

    /**
     * Whether this node's configuration and generation state have been read from its PostgreSQL at least once.
     * Until then {@link #selfId()} is 0 and the status meaningless: the node knows nothing yet, not even whether
     * it belongs to a cluster, and must admit no work. Loaded with self id 0 means "not initialised" (no
     * {@code init_cluster} yet): plain PostgreSQL behaviour is right.
     */
    boolean loaded();

    /** This node's id, or 0 before {@code init_cluster} (and while not {@link #loaded()}). */
    int selfId();

    Generation currentGeneration();

    NodeStatus status();

    /** {@code mtm.status()}. */
    StatusReport statusReport();

    /** {@code mtm.nodes()}, ordered by id. */
    List<NodeReport> nodeReports();

    /** What this node's receivers must do now; the applier follows it (polls it and is told on change). */
    ReplicationPlan replicationPlan();

    /**
     * Admits a PREPARE, by the applier, of a peer's transaction stamped with {@code generation} (DESIGN §3: a
     * switch excludes concurrent PREPAREs). The verdict is {@code APPLY} only for this node's current generation
     * while it is a member in normal mode; the caller runs its PREPARE while the admission is open and closes it.
     */
    PrepareAdmission admitPrepare(long generation);

    /**
     * Why this node is {@link NodeStatus#DISABLED} for good — it cannot recover by itself (the WAL it needs is gone
     * at every donor) and must be dropped and added again — with what to do; empty otherwise. Durable: a restart
     * keeps it, a new {@code init_cluster} clears it.
     */
    default Optional<String> disabledBecause() {
        return Optional.empty();
    }

    /**
     * The largest lag, in bytes behind its donor's WAL end, that a connected peer catching up or recovering reports
     * in its heartbeats; -1 when none does ({@code tx_delay_on_slow_catchup}).
     */
    default long peersCatchUpLag() {
        return -1;
    }

    /**
     * {@code mtm.drop_node(node)} (manual F.31.4.4): the cluster switches, by an election like every generation
     * switch, to a generation whose members and configured set leave {@code node} out, persisted on every remaining
     * node; their catalogs forget it and their replication slots and origins for it are dropped. Returns once this
     * node is in that generation.
     *
     * @return the generation without {@code node}
     * @throws ClusterAdminException with the SQLSTATE: 42704 not configured, 55000 this node not online, the node
     *                               itself, or too few nodes left; 40001 the election was not won in time
     */
    default Generation dropNode(int node) throws ClusterAdminException {
        throw new ClusterAdminException("55000", "mtm.drop_node is not available: the consensus bundle of this node"
            + " does not support it");
    }

    /**
     * The election half of {@code mtm.add_node}: the cluster switches to a generation whose configured set also holds
     * {@code node} (members unchanged: the node is not running yet), persisted on every node. The caller has written
     * the node's catalog row and replication slots on every node first. Returns once this node is in that generation.
     *
     * @throws ClusterAdminException 42710 already configured, 55000 this node not online or no majority, 40001 the
     *                               election was not won in time
     */
    default Generation addNode(int node) throws ClusterAdminException {
        throw new ClusterAdminException("55000", "mtm.add_node is not available: the consensus bundle of this node"
            + " does not support it");
    }

    /** This node's referee as it last saw it; empty when no {@code referee_connstring} is configured. */
    default Optional<RefereeReport> referee() {
        return Optional.empty();
    }
}
