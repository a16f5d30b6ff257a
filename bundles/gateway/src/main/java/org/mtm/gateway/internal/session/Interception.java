package org.mtm.gateway.internal.session;

import java.util.function.BooleanSupplier;

import org.mtm.api.Gid;
import org.mtm.gateway.internal.commit.ServerError;
import org.mtm.gateway.internal.commit.SqlStates;
import org.mtm.gateway.internal.sql.Replication.Reach;
import org.mtm.gateway.internal.sql.SqlStatement;
import org.mtm.gateway.internal.sql.StatementKind;

/**
 * Which of the client's statements the gateway takes over instead of relaying, and the error of those it refuses
 * outright. The rules of both protocols in one place, so that a simple Query and an extended-protocol Execute of the
 * same statement are treated alike. Pure: asks only whether the cluster is initialised and whether the session is an
 * {@code mtm_admin} one (both may change during a session).
 */
final class Interception {
    private final BooleanSupplier clusterInitialised;
    private final BooleanSupplier admin;

    Interception(BooleanSupplier clusterInitialised, BooleanSupplier admin) {
        this.clusterInitialised = clusterInitialised;
        this.admin = admin;
    }

    /** Transaction-control statements the gateway answers itself instead of relaying (both protocols). */
    boolean intercepted(SqlStatement st) {
        return switch (st.kind()) {
            case COMMIT, COMMIT_AND_CHAIN -> true;
            case PREPARE_TRANSACTION -> Gid.isReserved(st.gid());
            case COMMIT_PREPARED, ROLLBACK_PREPARED -> Gid.isReserved(st.gid()) && !admin.getAsBoolean();
            default -> false;
        };
    }

    /** A statement the cluster refuses (only once it is initialised; an mtm_admin session runs it on this node). */
    boolean refused(SqlStatement st) {
        return st.reach() == Reach.REFUSED && clusterInitialised.getAsBoolean() && !admin.getAsBoolean();
    }

    /**
     * Statements of a simple Query at which the gateway splits it: intercepted ones, refused ones, the calls it
     * answers, global DDL (bracketed by its messages), and — inside a block the gateway opened to keep a split
     * query atomic — BEGIN and ROLLBACK, which PostgreSQL would apply to its implicit block.
     */
    boolean special(SqlStatement st, boolean emulatedBlock) {
        return intercepted(st) || refused(st) || st.reach() == Reach.SURFACE
                || (st.reach() == Reach.GLOBAL_DDL && clusterInitialised.getAsBoolean())
                || (emulatedBlock && (st.kind() == StatementKind.BEGIN || st.kind() == StatementKind.ROLLBACK));
    }

    /** Extended-protocol Executes the gateway answers itself. */
    boolean interceptedExtended(SqlStatement st) {
        return intercepted(st) || refused(st) || st.reach() == Reach.SURFACE;
    }

    /** Why a statement is refused outright, or null (COMMIT, calls the gateway answers, ...). */
    ServerError statementError(SqlStatement st) {
        if (st.reach() == Reach.REFUSED || (st.reach() == Reach.SURFACE && st.replication().call() == null)) {
            return ServerError.error(st.replication().sqlState(), st.replication().message(), st.replication().hint());
        }
        return switch (st.kind()) {
            case PREPARE_TRANSACTION -> ServerError.error(SqlStates.RESERVED_NAME,
                    "[multimaster] transaction identifier \"" + st.gid() + "\" is reserved: the prefix "
                            + Gid.PREFIX + " belongs to the cluster's own prepared transactions",
                    "Choose a transaction identifier that does not start with " + Gid.PREFIX + ".");
            case COMMIT_PREPARED, ROLLBACK_PREPARED -> ServerError.error(SqlStates.RESERVED_NAME,
                    "[multimaster] prepared transaction \"" + st.gid() + "\" belongs to the cluster and is "
                            + "finished by it; only a session with application_name 'mtm_admin' may finish it by hand",
                    null);
            default -> null;
        };
    }
}
