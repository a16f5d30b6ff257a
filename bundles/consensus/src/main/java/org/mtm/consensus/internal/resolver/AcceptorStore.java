package org.mtm.consensus.internal.resolver;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.mtm.api.Gid;
import org.mtm.consensus.internal.resolver.Knowledge.LocalCopy;

/**
 * The acceptor's durable state per transaction in {@code mtm.transactions} (node-local, never replicated), and
 * what the local PostgreSQL shows of the transaction's copy. Every method runs inside the caller's transaction;
 * the caller commits before it answers anyone.
 */
public final class AcceptorStore {

    private AcceptorStore() {
    }

    /** Reads (and locks) the state of {@code gid}; a transaction never heard of is {@link AcceptorState#FRESH}. */
    public static AcceptorState lock(Connection c, Gid gid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT status, proposal_ballot, proposal_node, accepted_ballot,"
            + " accepted_node FROM mtm.transactions WHERE gid = ? FOR UPDATE")) {
            ps.setString(1, gid.toString());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return AcceptorState.FRESH;
                }
                return AcceptorState.of(rs.getString(1), new Term(rs.getInt(2), rs.getInt(3)), new Term(rs.getInt(4), rs.getInt(5)));
            }
        }
    }

    /**
     * The state of {@code gid} (locked, as {@link #lock}) and what this node's PostgreSQL shows of its copy: prepared;
     * committed (a peer's transaction whose apply is logged in {@code mtm.applied_xacts}, or this node's own whose xid
     * committed); rolled back (this node's own, whose xid aborted); or nothing known. One round trip: the acceptor
     * desk asks both for every request. The state's row
     * is locked by a lateral sub-select (a gid never heard of has no row: {@link AcceptorState#FRESH}).
     */
    public static Knowledge read(Connection c, Gid gid, int self) throws SQLException {
        boolean own = gid.originNode() == self;
        try (PreparedStatement ps = c.prepareStatement("SELECT t.status, t.proposal_ballot, t.proposal_node,"
            + " t.accepted_ballot, t.accepted_node,"
            + " EXISTS (SELECT 1 FROM pg_catalog.pg_prepared_xacts p WHERE p.gid = g.gid),"
            + " EXISTS (SELECT 1 FROM mtm.applied_xacts a WHERE a.gid = g.gid),"
            + (own ? " pg_catalog.pg_xact_status(?::text::pg_catalog.xid8)" : " ?::text")
            + " FROM (SELECT ?::text AS gid) g LEFT JOIN LATERAL (SELECT status, proposal_ballot, proposal_node,"
            + " accepted_ballot, accepted_node FROM mtm.transactions WHERE gid = g.gid FOR UPDATE) t ON true")) {
            ps.setString(1, own ? Long.toString(gid.originXid()) : null);
            ps.setString(2, gid.toString());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                String status = rs.getString(1);
                AcceptorState state = status == null ? AcceptorState.FRESH // status is NOT NULL: no row
                    : AcceptorState.of(status, new Term(rs.getInt(2), rs.getInt(3)), new Term(rs.getInt(4), rs.getInt(5)));
                return new Knowledge(state, localCopy(rs.getBoolean(6), rs.getBoolean(7), rs.getString(8)));
            }
        }
    }

    private static LocalCopy localCopy(boolean prepared, boolean applied, String xactStatus) {
        if (prepared) {
            return LocalCopy.PREPARED;
        }
        if (applied) {
            return LocalCopy.COMMITTED;
        }
        if ("committed".equals(xactStatus)) {
            return LocalCopy.COMMITTED;
        }
        if ("aborted".equals(xactStatus)) {
            return LocalCopy.ABORTED;
        }
        return LocalCopy.NONE;
    }

    public static void store(Connection c, Gid gid, AcceptorState s) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO mtm.transactions (gid, coordinator, generation, status,"
            + " proposal_ballot, proposal_node, accepted_ballot, accepted_node) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT (gid) DO UPDATE SET status = excluded.status, proposal_ballot = excluded.proposal_ballot,"
            + " proposal_node = excluded.proposal_node, accepted_ballot = excluded.accepted_ballot,"
            + " accepted_node = excluded.accepted_node, updated_at = now()")) {
            ps.setString(1, gid.toString());
            ps.setInt(2, gid.originNode());
            ps.setLong(3, gid.generation());
            ps.setString(4, s.status());
            ps.setInt(5, s.promised().ballot());
            ps.setInt(6, s.promised().node());
            ps.setInt(7, s.accepted().ballot());
            ps.setInt(8, s.accepted().node());
            ps.executeUpdate();
        }
    }
}
