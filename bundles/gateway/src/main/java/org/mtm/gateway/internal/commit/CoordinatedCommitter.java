package org.mtm.gateway.internal.commit;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;

import org.mtm.api.Coordinator;
import org.mtm.api.CrashPoints;
import org.mtm.api.Coordinator.CommitRefusedException;
import org.mtm.api.Coordinator.Decision;
import org.mtm.api.Gid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's one committer: every commit the gateway owns (COMMIT, COMMIT AND CHAIN, the implicit commit of a
 * wrapped autocommit statement) goes through {@link #commit}, top to bottom:
 * <ol>
 * <li><b>Where the node stands</b> ({@link Standing}): before {@code init_cluster} every transaction commits locally;
 * while the node's cluster state is unknown, or no coordinator runs, only transactions without replicated changes
 * commit (locally) and the others are refused, since committing them on this node alone would diverge.</li>
 * <li><b>What the transaction did</b> ({@link Footprint}): no xid or only local work — commits locally; temporary
 * objects or LISTEN/NOTIFY mixed with replicated changes — refused.</li>
 * <li><b>The cluster's commit</b> (DESIGN §2.2) through the api {@link Coordinator}: {@link Coordinator#begin} stamps
 * the gid (or refuses: not online, generation changing), {@code PREPARE TRANSACTION '<gid>'},
 * {@link Coordinator#prepared} yields the decision asynchronously, then {@code COMMIT PREPARED} +
 * {@link Coordinator#committed} or {@code ROLLBACK PREPARED} + {@link Coordinator#aborted}.</li>
 * </ol>
 *
 * <p>If the decision itself fails (exceptional completion) the outcome is unknown to the gateway: the
 * prepared transaction is left for the resolver and the client gets 08007. If the session's backend
 * connection is lost after PREPARE, COMMIT/ROLLBACK PREPARED run on a connection of their own; if it is lost
 * during PREPARE, a ROLLBACK PREPARED on its own connection makes sure nothing stays prepared (a PREPARE
 * still running in the dying backend at that moment can outlive it: the resolver's case).
 *
 * <p>The resolver may finish the same prepared transaction from another connection at the same time
 * ({@link DecidedFinish}): "no such prepared transaction" after a decision counts as finished that way, "busy" is
 * asked again for a moment. 08007 is reported only when the gateway really does not know the outcome.
 */
public final class CoordinatedCommitter implements TransactionCommitter {
    private static final Logger LOG = LoggerFactory.getLogger(CoordinatedCommitter.class);

    /** How long a COMMIT/ROLLBACK PREPARED that another session is finishing ("busy") is asked again. */
    static final Duration BUSY_PATIENCE = Duration.ofSeconds(2);

    /** Where the node stands for commits, asked at each commit. */
    public enum Standing {
        /** No cluster state service: the consensus bundle is starting, stopping or being updated. */
        NO_CLUSTER_STATE,
        /** The cluster state is not loaded yet. */
        STARTING,
        /** Loaded, self id 0: {@code init_cluster} has not run; every commit is local. */
        NOT_INITIALISED,
        /** A member of an initialised cluster: replicated changes commit through the coordinator. */
        MEMBER
    }

    private final Supplier<Standing> standing;
    private final Supplier<Coordinator> coordinator;
    private final Duration busyPatience;

    /**
     * @param standing    where the node stands, asked at each commit
     * @param coordinator the running coordinator, or null while there is none (asked at each commit)
     */
    public CoordinatedCommitter(Supplier<Standing> standing, Supplier<Coordinator> coordinator, Duration busyPatience) {
        this.standing = standing;
        this.coordinator = coordinator;
        this.busyPatience = busyPatience;
    }

    public CoordinatedCommitter(Supplier<Standing> standing, Supplier<Coordinator> coordinator) {
        this(standing, coordinator, BUSY_PATIENCE);
    }

    /** A member of an initialised cluster, committing through {@code coordinator}. */
    public CoordinatedCommitter(Coordinator coordinator, Duration busyPatience) {
        this(() -> Standing.MEMBER, () -> coordinator, busyPatience);
    }

    public CoordinatedCommitter(Coordinator coordinator) {
        this(coordinator, BUSY_PATIENCE);
    }

    @Override
    public CompletionStage<CommitOutcome> commit(CommitContext tx) {
        Standing where = standing.get();
        if (where == Standing.NOT_INITIALISED) {
            return localCommit(tx); // before init_cluster everything is this node's
        }
        Coordinator c = where == Standing.MEMBER ? coordinator.get() : null;
        ServerError noCluster = switch (where) {
            case NO_CLUSTER_STATE -> ClusterAdmission.NO_CLUSTER_STATE;
            case STARTING -> ClusterAdmission.STARTING;
            default -> c != null ? null : ServerError.error(SqlStates.NODE_NOT_ONLINE,
                    "[multimaster] cannot commit: the commit coordinator of this node is not running",
                    "The consensus bundle is starting or being updated; retry the transaction.");
        };
        return tx.footprint().thenCompose(footprint -> switch (footprint.route()) {
            case LOCAL -> localCommit(tx); // read-only or local work only: no cluster round trip
            case REFUSE -> rollback(tx, footprint.refusal());
            case CLUSTER -> noCluster != null ? rollback(tx, noCluster)
                    : begin(c, footprint.xid()).handle((gid, refused) -> refused == null ? prepare(c, tx, gid) : refuse(tx, refused))
                            .thenCompose(Function.identity());
        });
    }

    private static CompletionStage<CommitOutcome> localCommit(CommitContext tx) {
        return tx.execute("COMMIT").thenApply(r -> r.ok() ? CommitOutcome.committed() : CommitOutcome.failed(r.error()));
    }

    private static CompletionStage<CommitOutcome> rollback(CommitContext tx, ServerError why) {
        return tx.execute("ROLLBACK").thenApply(r -> CommitOutcome.failed(why));
    }

    private static CompletionStage<CommitOutcome> refuse(CommitContext tx, Throwable refused) {
        Throwable cause = refused instanceof CompletionException && refused.getCause() != null ? refused.getCause() : refused;
        ServerError refusal = cause instanceof CommitRefusedException e ? ServerError.error(e.sqlState(), e.getMessage())
                : ServerError.error(SqlStates.INTERNAL_ERROR, "[multimaster] commit refused: " + cause);
        return rollback(tx, refusal);
    }

    /**
     * {@link Coordinator#begin} once admitted: while the cluster's commits are held for a moment (a consistent point,
     * mtm.check_query) the commit waits instead of failing. Fails with the coordinator's refusal.
     */
    private static CompletionStage<Gid> begin(Coordinator coordinator, long xid) {
        return coordinator.admission().thenCompose(admitted -> {
            try {
                return CompletableFuture.completedFuture(coordinator.begin(xid));
            } catch (Coordinator.CommitsHeldException held) {
                return begin(coordinator, xid); // a hold began after the admission: wait for it
            } catch (CommitRefusedException e) {
                return CompletableFuture.failedFuture(e);
            }
        });
    }

    private CompletionStage<CommitOutcome> prepare(Coordinator coordinator, CommitContext tx, Gid gid) {
        String literal = "'" + gid + "'";
        return Footprint.prepare(tx, literal).handle((prepared, lost) -> {
            if (lost != null) {
                // the connection died around PREPARE: it may or may not exist now; make sure it does not
                LOG.warn("backend connection lost while preparing {}; rolling it back", gid);
                return tx.executeDetached("ROLLBACK PREPARED " + literal).handle((r, e) -> {
                    coordinator.aborted(gid);
                    return CommitOutcome.failed(ServerError.error(SqlStates.CONNECTION_FAILURE,
                            "[multimaster] connection to the local PostgreSQL lost while preparing " + gid));
                });
            }
            return afterPrepare(coordinator, tx, gid, literal, prepared);
        }).thenCompose(Function.identity());
    }

    private CompletionStage<CommitOutcome> afterPrepare(Coordinator coordinator, CommitContext tx, Gid gid, String literal,
                                                        QueryResult prepared) {
        if (!prepared.ok()) {
            coordinator.aborted(gid); // a failed PREPARE has rolled the transaction back
            return CompletableFuture.completedFuture(CommitOutcome.failed(Footprint.prepareRefused(prepared.error())));
        }
        CrashPoints.reach(CrashPoints.Point.AFTER_LOCAL_PREPARE, gid); // test-only
        return coordinator.prepared(gid).handle((decision, failure) -> {
            if (failure != null) {
                LOG.warn("no commit decision for {}: {}; leaving it prepared for the resolver", gid, failure.toString());
                return null;
            }
            return decision;
        }).thenCompose(decision -> finish(coordinator, tx, gid, decision));
    }

    private CompletionStage<CommitOutcome> finish(Coordinator coordinator, CommitContext tx, Gid gid, Decision decision) {
        if (decision == null) {
            return CompletableFuture.completedFuture(CommitOutcome.failed(new ServerError("ERROR",
                    SqlStates.TRANSACTION_RESOLUTION_UNKNOWN,
                    "[multimaster] the outcome of transaction " + gid + " is not known yet", null,
                    "The cluster resolves it; check pg_prepared_xacts or retry the read later.")));
        }
        if (decision.commit()) {
            // finished here or by the resolver (42704 after a decision to commit: committed, the decision is unique)
            return DecidedFinish.commit(tx, gid, busyPatience).thenCompose(failed -> {
                if (failed != null) {
                    LOG.error("COMMIT PREPARED {} failed after the decision to commit: {}", gid, failed);
                    return CompletableFuture.completedFuture(CommitOutcome.failed(new ServerError("ERROR",
                            SqlStates.TRANSACTION_RESOLUTION_UNKNOWN, "[multimaster] commit of " + gid
                                    + " was decided but COMMIT PREPARED failed: " + failed.message(), null,
                            "The cluster commits it; check pg_prepared_xacts or retry the read later.")));
                }
                CrashPoints.reach(CrashPoints.Point.AFTER_LOCAL_COMMIT, gid); // test-only
                CompletionStage<Void> acks;
                try {
                    acks = coordinator.committed(gid);
                } catch (RuntimeException e) { // the coordinator is stopping: the commit is done all the same
                    acks = CompletableFuture.failedFuture(e);
                }
                return acks.handle((v, failure) -> {
                    if (failure != null) {
                        LOG.warn("peers did not acknowledge the commit of {}: {}", gid, failure.toString());
                    }
                    return CommitOutcome.committed();
                });
            });
        }
        // the outcome is known (aborted) whatever happens here: a transaction left prepared is the resolver's
        return DecidedFinish.rollback(tx, gid, busyPatience).thenApply(failed -> {
            if (failed != null) {
                LOG.error("ROLLBACK PREPARED {} failed after the decision to abort: {}", gid, failed);
            }
            coordinator.aborted(gid);
            String state = decision.sqlState() == null ? "40001" : decision.sqlState();
            String message = decision.message() == null ? "[multimaster] transaction " + gid + " was aborted by the cluster"
                    : decision.message();
            return CommitOutcome.failed(ServerError.error(state, message));
        });
    }
}
