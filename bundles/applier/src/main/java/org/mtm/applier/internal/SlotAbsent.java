package org.mtm.applier.internal;

import java.sql.SQLException;

/**
 * The peer has no replication slot for this node yet: a node that joined through {@code mtm.join_node} makes its
 * slots only once it has caught up ({@code JoinedNodeSlots}). Not a failure: the receiver waits and looks again,
 * without asking the peer to stream from a slot it does not have (each such try was an ERROR in the peer's log).
 */
final class SlotAbsent extends SQLException {
    private static final long serialVersionUID = 1L;

    SlotAbsent(String message) {
        super(message, "42704");
    }
}
