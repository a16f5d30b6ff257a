package org.mtm.applier.internal;

import java.sql.SQLException;

/**
 * An UPDATE or DELETE found no row with the replica identity the origin changed: either a concurrent
 * transaction here removed it, or the data already differs between the nodes. SQLSTATE 40001 so a
 * replicated transaction is voted down as a conflict the client may retry.
 */
final class RowMissingException extends SQLException {
    private static final long serialVersionUID = 1L;

    RowMissingException(String operation, String relation, int self) {
        super("no row of relation " + relation + " on node " + self + " matches the replica identity of the " + operation
                + " (a concurrent transaction changed it, or the nodes' data differ)", ApplyFailure.SERIALIZATION_FAILURE);
    }
}
