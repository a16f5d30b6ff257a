package org.mtm.consensus.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import org.mtm.api.Gid;

/**
 * Durable 3PC state of a transaction on a participant ({@code mtm.transactions}, never replicated): once
 * a node answered PRECOMMITTED it must remember it across crashes, for the resolver.
 */
final class PrecommitStore {

    private PrecommitStore() {
    }

    /** Records status {@code pc} at the coordinator's term {1,0}; committed before this returns. */
    static void recordPrecommit(Connection c, Gid gid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
            "INSERT INTO mtm.transactions (gid, coordinator, generation, status, proposal_ballot, proposal_node,"
                + " accepted_ballot, accepted_node) VALUES (?, ?, ?, 'pc', 1, 0, 1, 0)"
                + " ON CONFLICT (gid) DO UPDATE SET status = 'pc', accepted_ballot = 1, accepted_node = 0"
                + " WHERE mtm.transactions.status = 'in' AND mtm.transactions.proposal_ballot <= 1")) {
            ps.setString(1, gid.toString());
            ps.setInt(2, gid.originNode());
            ps.setLong(3, gid.generation());
            ps.executeUpdate();
        }
    }
}
