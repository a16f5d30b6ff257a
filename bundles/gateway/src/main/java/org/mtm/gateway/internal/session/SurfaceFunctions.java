package org.mtm.gateway.internal.session;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.mtm.gateway.internal.sql.SurfaceCall.CallException;

/**
 * The multimaster functions the gateway answers itself (manual F.31.5.2), backed by the api services of the
 * node. The stages complete on any thread; a failure is a {@link CallException} with the SQLSTATE and message
 * the client gets.
 */
public interface SurfaceFunctions {

    /** {@code mtm.init_cluster(my_conninfo, peers_conninfo)}. */
    CompletionStage<Void> initCluster(String myConninfo, List<String> peerConninfos);

    /** {@code mtm.alter_sequences()}: how many sequences were changed. */
    CompletionStage<Integer> alterSequences();

    /**
     * {@code mtm.check_query(query_text)} as {@code role} (the session's user): whether every node gave the same
     * result, and the warning with the first difference when not.
     */
    CompletionStage<CheckAnswer> checkQuery(String query, String role);

    /** {@code mtm.get_snapshots()} for {@code owner} (the session): the snapshot ids, {@code <node>:<id>} comma-separated. */
    CompletionStage<String> getSnapshots(Object owner);

    /** {@code mtm.free_snapshots()} of {@code owner}; also when the session ends. */
    CompletionStage<Void> freeSnapshots(Object owner);

    /** {@code mtm.drop_node(node_id)}: done once this node is in the generation without that node. */
    CompletionStage<Void> dropNode(int node);

    /** {@code mtm.add_node(connstr)}: the new node's id, once it is configured on every node. */
    default CompletionStage<Integer> addNode(String conninfo) {
        return CompletableFuture.failedFuture(unavailable("mtm.add_node", "admin"));
    }

    /** {@code mtm.join_node(node_id, backup_end_lsn)}: done once the new node took its identity and catches up. */
    default CompletionStage<Void> joinNode(int node, String backupEndLsn) {
        return CompletableFuture.failedFuture(unavailable("mtm.join_node", "admin"));
    }

    /**
     * {@code mtm.ping()}: true when this node and every member of its generation are online in it; fails (55000, 08006)
     * naming the node that is not.
     */
    CompletionStage<Boolean> ping();

    /** The answer of {@code mtm.check_query}: {@code warning} is null when the results are the same. */
    record CheckAnswer(boolean same, String warning) {
    }

    /** No services: every call fails with 55000 (object_not_in_prerequisite_state). */
    SurfaceFunctions NONE = new SurfaceFunctions() {
        @Override
        public CompletionStage<Void> initCluster(String myConninfo, List<String> peerConninfos) {
            return CompletableFuture.failedFuture(unavailable("mtm.init_cluster", "admin"));
        }

        @Override
        public CompletionStage<Integer> alterSequences() {
            return CompletableFuture.failedFuture(unavailable("mtm.alter_sequences", "sequence"));
        }

        @Override
        public CompletionStage<CheckAnswer> checkQuery(String query, String role) {
            return CompletableFuture.failedFuture(unavailable("mtm.check_query", "admin"));
        }

        @Override
        public CompletionStage<String> getSnapshots(Object owner) {
            return CompletableFuture.failedFuture(unavailable("mtm.get_snapshots", "admin"));
        }

        @Override
        public CompletionStage<Void> freeSnapshots(Object owner) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletionStage<Void> dropNode(int node) {
            return CompletableFuture.failedFuture(unavailable("mtm.drop_node", "consensus"));
        }

        @Override
        public CompletionStage<Boolean> ping() {
            return CompletableFuture.failedFuture(unavailable("mtm.ping", "admin"));
        }
    };

    static CallException unavailable(String function, String bundle) {
        return new CallException("55000", "[multimaster] " + function + " is not available: the " + bundle
                + " bundle of this node is not running");
    }
}
