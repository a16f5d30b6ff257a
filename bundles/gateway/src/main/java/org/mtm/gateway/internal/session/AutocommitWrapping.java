package org.mtm.gateway.internal.session;

import java.util.List;
import java.util.function.BooleanSupplier;

import org.mtm.gateway.internal.sql.Replication.Reach;
import org.mtm.gateway.internal.sql.SqlStatement;
import org.mtm.gateway.internal.sql.StatementKind;

/**
 * The rules of autocommit wrapping (DESIGN §2.1, {@code gateway.autocommit_wrap}): an autocommit statement that may
 * change replicated data runs in a transaction the gateway opens, so that its commit is the cluster's; one whose
 * text reads only ({@link Reach#READ}) runs unwrapped in a read-only transaction; everything else is relayed. For a
 * simple Query the decision is taken per query ({@link #simpleQuery}); for the extended protocol once per batch (the
 * messages up to Sync: PostgreSQL's implicit transaction), at the first Execute that decides it ({@link #execute}).
 *
 * <p>Pure: the session asks and carries out the answer. One instance per session (it holds the current batch's
 * decision); event loop only.
 */
final class AutocommitWrapping {
    /** What the session does with a simple Query. */
    enum QueryAction {
        /** Relay it as it is. */
        RELAY,
        /** Relay it behind the read-only guard (and the guard's Sync). */
        READ_ONLY,
        /** The gateway's block around it: the query plan, which opens and commits it. */
        WRAP
    }

    /** What the session does with an extended-protocol Execute. */
    enum ExecuteAction {
        /** Relay it: the batch is decided, or this statement does not decide it. */
        RELAY,
        /** The read-only guard before it (its batch ends with the Sync right behind it). */
        READ_ONLY,
        /** The gateway's BEGIN before it: the batch is wrapped and its implicit commit is the gateway's. */
        BEGIN,
        /** The transaction status at the batch's start is not known yet: wait for it, then ask again. */
        WAIT_FOR_STATUS
    }

    private final BooleanSupplier enabled;
    private final BooleanSupplier clusterInitialised;
    private boolean batchDecided;
    private boolean batchWrapped;

    /**
     * @param enabled            wrapping is on (configured, and the cluster is initialised); asked at each decision
     * @param clusterInitialised global DDL commits through the cluster even with wrapping off
     */
    AutocommitWrapping(BooleanSupplier enabled, BooleanSupplier clusterInitialised) {
        this.enabled = enabled;
        this.clusterInitialised = clusterInitialised;
    }

    /**
     * A simple Query of {@code statements} none of which needs the gateway for another reason.
     *
     * @param status the transaction status, or 0 when replies are still pending (not known)
     */
    QueryAction simpleQuery(List<SqlStatement> statements, char status) {
        if (!enabled.getAsBoolean()) {
            return QueryAction.RELAY;
        }
        if (status == 'I' && onlyReads(statements)) {
            return QueryAction.READ_ONLY;
        }
        // the status is only known when nothing is pending: the query plan waits for it
        return (status == 'I' || status == 0) && wrappable(statements, 0, statements.size()) ? QueryAction.WRAP
                : QueryAction.RELAY;
    }

    /**
     * An Execute of a statement of {@code kind} and {@code reach}.
     *
     * @param createsStandIn the statement creates a stand-in for a temporary table (its ON COMMIT action runs at the
     *                       gateway's commit)
     * @param status         the transaction status at the batch's start, or 0 when not known yet
     * @param syncFollows    the client's next message, already received, is Sync
     */
    ExecuteAction execute(StatementKind kind, Reach reach, boolean createsStandIn, char status, boolean syncFollows) {
        // statements that cannot write do not decide whether the batch is wrapped: a later one may; global DDL of an
        // initialised cluster always commits through the cluster, wrapping configured or not
        boolean decides = enabled.getAsBoolean() ? kind != StatementKind.OTHER || reach.mayWriteReplicated() || createsStandIn
                : reach == Reach.GLOBAL_DDL && clusterInitialised.getAsBoolean();
        if (decides && !batchDecided) {
            if (status == 0) {
                return ExecuteAction.WAIT_FOR_STATUS;
            }
            batchDecided = true;
            if (status == 'I' && reach == Reach.READ && syncFollows) {
                return ExecuteAction.READ_ONLY;
            }
            if (status == 'I' && kind == StatementKind.OTHER) {
                batchWrapped = true;
                return ExecuteAction.BEGIN;
            }
        }
        batchDecided |= kind == StatementKind.BEGIN;
        return ExecuteAction.RELAY;
    }

    /** Whether the current batch is wrapped: its Sync is the gateway's commit. */
    boolean batchWrapped() {
        return batchWrapped;
    }

    /** The batch ended (Sync): returns whether it was wrapped, and forgets it. */
    boolean batchEnded() {
        boolean wrapped = batchWrapped;
        batchWrapped = false;
        batchDecided = false;
        return wrapped;
    }

    /** Statements that are all {@link Reach#READ} queries (or empty), at least one of them. */
    static boolean onlyReads(List<SqlStatement> sts) {
        boolean read = false;
        for (SqlStatement st : sts) {
            if (st.reach() == Reach.READ) {
                read = true;
            } else if (st.kind() != StatementKind.EMPTY) {
                return false;
            }
        }
        return read;
    }

    /**
     * Whether statements {@code [from, to)} may run inside a gateway-opened block, and need it: at least one of
     * them may change replicated data (statements that cannot — SHOW, SET, LISTEN, local utility statements —
     * run as they are).
     */
    static boolean wrappable(List<SqlStatement> sts, int from, int to) {
        boolean work = false;
        for (int i = from; i < to; i++) {
            SqlStatement st = sts.get(i);
            StatementKind kind = st.kind();
            if (kind == StatementKind.OTHER || kind == StatementKind.COPY) {
                work |= st.reach().mayWriteReplicated();
            } else if (kind != StatementKind.EMPTY) {
                return false;
            }
        }
        return work;
    }
}
