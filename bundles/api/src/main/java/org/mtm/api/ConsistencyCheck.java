package org.mtm.api;

import java.util.List;
import java.util.Map;

/**
 * {@code mtm.check_query}, {@code mtm.get_snapshots} and {@code mtm.free_snapshots} (manual F.31.5.2): snapshots on
 * every online member of the generation at one consistent point ({@link CommitHolds}), and a query's result compared
 * across them.
 */
public interface ConsistencyCheck {

    /**
     * Runs {@code query} read-only in a snapshot of every node taken at one consistent point, as {@code role} (null: the
     * cluster's user), and compares the results — in their order when the query has a top-level ORDER BY, as a set of
     * rows otherwise. Fails with the SQLSTATE of the query's error on a node, or 55P03 when no consistent point was
     * reached.
     */
    default Comparison checkQuery(String query, String role) throws ClusterAdminException {
        return checkQuery(query, role, progress -> { });
    }

    /**
     * {@link #checkQuery(String, String)}, telling {@code progress} what it does on large tables: where the snapshots
     * were taken, every {@value #PROGRESS_ROWS} rows read on a node, and each node's result as it comes (from the
     * nodes' query threads: the listener must be thread-safe).
     */
    Comparison checkQuery(String query, String role, java.util.function.Consumer<String> progress) throws ClusterAdminException;

    /** Rows between two progress reports of one node's query. */
    int PROGRESS_ROWS = 1_000_000;

    /**
     * {@code mtm.get_snapshots()}: exports a snapshot on every node at one consistent point and keeps it, for
     * {@code owner}, until {@link #freeSnapshots} (the gateway frees them when the session ends). Returns the snapshot id by node
     * ({@code SET TRANSACTION SNAPSHOT '<id>'} on that node's PostgreSQL, in a REPEATABLE READ transaction).
     */
    Map<Integer, String> getSnapshots(Object owner) throws ClusterAdminException;

    /** {@code mtm.free_snapshots()}: ends the snapshots of {@code owner}; whether it had any. */
    boolean freeSnapshots(Object owner);

    /** The result of {@link #checkQuery}. */
    record Comparison(boolean same, List<Integer> nodes, int reference, List<Integer> differing, String firstDifference,
                      Map<Integer, String> summaries) {
    }
}
