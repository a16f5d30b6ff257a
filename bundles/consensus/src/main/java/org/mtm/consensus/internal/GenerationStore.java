package org.mtm.consensus.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.mtm.api.Generation;
import org.mtm.api.NodeSet;

/** Reads and writes {@code mtm.generation_state} (schema owned by the postgres bundle's catalog). */
final class GenerationStore {

    private GenerationStore() {
    }

    static GenerationState load(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
            "SELECT current_gen, gen_members, gen_configured, last_online_in, last_vote, donors FROM mtm.generation_state");
             ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return GenerationState.NONE;
            }
            Generation gen = new Generation(rs.getLong(1), NodeSet.ofMask(rs.getLong(2)), NodeSet.ofMask(rs.getLong(3)));
            return new GenerationState(gen, rs.getLong(5), rs.getLong(4), NodeSet.ofMask(rs.getLong(6)));
        }
    }
}
