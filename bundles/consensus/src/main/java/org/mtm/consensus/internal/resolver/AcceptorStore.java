package org.mtm.consensus.internal.resolver;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    /**
     * Makes {@code c} the acceptor desk's connection: not autocommit (a batch is one transaction), its statements
     * prepared on the server from their first use and planned once (the arrays' sizes change nothing in the plan), its
     * commits flushed before the desk answers even where the server's default is {@code synchronous_commit = off} (a
     * promise or acceptance lost in a crash could let two proposers both win; any other setting flushes locally).
     */
    public static void prepareDesk(Connection c) throws SQLException {
        c.setAutoCommit(true);
        try (java.sql.Statement st = c.createStatement()) {
            st.execute("SET plan_cache_mode = force_generic_plan");
            st.execute(org.mtm.api.DurableCommits.SQL);
        }
        c.unwrap(org.postgresql.PGConnection.class).setPrepareThreshold(1);
        c.setAutoCommit(false);
    }

    /**
     * Handles a batch of requests in one transaction of {@code c} (a {@link #prepareDesk desk connection}) with a
     * constant number of round trips: {@link #readAll} (rows locked in {@link DeskBatch#gids lock order}), the
     * requests decided in order by {@link DeskBatch#decide}, {@link #storeAll} of the changed states, COMMIT. The
     * caller answers only after this returned; on failure the transaction is rolled back and nothing may be answered.
     */
    public static DeskBatch.Result handle(Connection c, List<DeskBatch.Request> batch, int self) throws SQLException {
        try {
            DeskBatch.Result result = DeskBatch.decide(batch, readAll(c, DeskBatch.gids(batch), self));
            storeAll(c, result.changed());
            c.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the caller drops the connection
            }
            throw e;
        }
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

    /** The state of {@code gid} and its local copy, as {@link #readAll} reads them for a batch of one. */
    public static Knowledge read(Connection c, Gid gid, int self) throws SQLException {
        return readAll(c, List.of(gid), self).get(gid);
    }

    /** What the desk reads of each gid {@code g.gid} (own: with its xid {@code g.xid}, else null). */
    private static final String READ_COLUMNS = "SELECT g.gid, t.status, t.proposal_ballot, t.proposal_node,"
        + " t.accepted_ballot, t.accepted_node,"
        + " g.gid IN (SELECT p.gid FROM pg_catalog.pg_prepared_xacts p),"
        // a probe of the gid index per gid, never a hashed scan of the whole log (a generic plan made while it was small)
        + " (SELECT true FROM mtm.applied_xacts a WHERE a.gid = g.gid LIMIT 1) IS NOT NULL,"
        + " CASE WHEN g.xid IS NOT NULL THEN pg_catalog.pg_xact_status(g.xid::pg_catalog.xid8) END";
    private static final String LOCKED_ROW = " LEFT JOIN LATERAL (SELECT status, proposal_ballot, proposal_node,"
        + " accepted_ballot, accepted_node FROM mtm.transactions WHERE gid = g.gid FOR UPDATE) t ON true";
    /** A batch of one gid (most batches): scalars, which cost the server less than arrays of one. */
    private static final String READ_ONE = READ_COLUMNS + " FROM (SELECT ?::text AS gid, ?::text AS xid) g" + LOCKED_ROW;
    private static final String READ_ALL = READ_COLUMNS + " FROM unnest(?::text[], ?::text[]) AS g(gid, xid)" + LOCKED_ROW;

    /**
     * The state of every gid of {@code gids} (their rows locked in the order given: the desk gives them in
     * {@link DeskBatch#gids lock order}) and what this node's PostgreSQL shows of each copy: prepared; committed (a
     * peer's transaction whose apply is logged in {@code mtm.applied_xacts}, or this node's own whose xid committed);
     * rolled back (this node's own, whose xid aborted); or nothing known. One statement whatever the number of gids
     * (one text for one gid, one for more), so that pgjdbc keeps it prepared on the server. A gid never heard of has no row:
     * {@link AcceptorState#FRESH}.
     */
    public static Map<Gid, Knowledge> readAll(Connection c, List<Gid> gids, int self) throws SQLException {
        String[] names = new String[gids.size()];
        String[] xids = new String[gids.size()];
        Map<String, Gid> byName = new HashMap<>();
        for (int i = 0; i < names.length; i++) {
            Gid gid = gids.get(i);
            names[i] = gid.toString();
            xids[i] = gid.originNode() == self ? Long.toString(gid.originXid()) : null; // own: its xid's status
            byName.put(names[i], gid);
        }
        Map<Gid, Knowledge> known = new HashMap<>();
        boolean one = names.length == 1;
        try (PreparedStatement ps = c.prepareStatement(one ? READ_ONE : READ_ALL)) {
            if (one) {
                ps.setString(1, names[0]);
                ps.setString(2, xids[0]);
            } else {
                ps.setArray(1, c.createArrayOf("text", names));
                ps.setArray(2, c.createArrayOf("text", xids));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String status = rs.getString(2);
                    AcceptorState state = status == null ? AcceptorState.FRESH // status is NOT NULL: no row
                        : AcceptorState.of(status, new Term(rs.getInt(3), rs.getInt(4)), new Term(rs.getInt(5), rs.getInt(6)));
                    known.put(byName.get(rs.getString(1)),
                        new Knowledge(state, localCopy(rs.getBoolean(7), rs.getBoolean(8), rs.getString(9))));
                }
            }
        }
        return known;
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

    /** Writes the state of {@code gid}, as {@link #storeAll} writes a batch's. */
    public static void store(Connection c, Gid gid, AcceptorState s) throws SQLException {
        storeAll(c, Map.of(gid, s));
    }

    private static final String UPSERT = "INSERT INTO mtm.transactions (gid, coordinator, generation, status,"
        + " proposal_ballot, proposal_node, accepted_ballot, accepted_node) ";
    private static final String ON_CONFLICT = " ON CONFLICT (gid) DO UPDATE SET status = excluded.status,"
        + " proposal_ballot = excluded.proposal_ballot, proposal_node = excluded.proposal_node,"
        + " accepted_ballot = excluded.accepted_ballot, accepted_node = excluded.accepted_node, updated_at = now()";
    private static final String STORE_ONE = UPSERT + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)" + ON_CONFLICT;
    private static final String STORE_ALL = UPSERT + "SELECT * FROM unnest(?::text[], ?::int4[], ?::int8[], ?::text[],"
        + " ?::int4[], ?::int4[], ?::int4[], ?::int4[])" + ON_CONFLICT;

    /**
     * Writes every state of {@code states} (each gid once) in one statement, a multi-row upsert in the map's
     * order (one row: a single-row upsert, cheaper for the server); its texts are fixed, so that pgjdbc keeps them
     * prepared on the server. Nothing to write: no statement.
     */
    public static void storeAll(Connection c, Map<Gid, AcceptorState> states) throws SQLException {
        if (states.isEmpty()) {
            return;
        }
        int n = states.size();
        String[] gids = new String[n];
        Integer[] coordinators = new Integer[n];
        Long[] generations = new Long[n];
        String[] statuses = new String[n];
        Integer[] promisedBallots = new Integer[n];
        Integer[] promisedNodes = new Integer[n];
        Integer[] acceptedBallots = new Integer[n];
        Integer[] acceptedNodes = new Integer[n];
        int i = 0;
        for (Map.Entry<Gid, AcceptorState> e : states.entrySet()) {
            Gid gid = e.getKey();
            AcceptorState s = e.getValue();
            gids[i] = gid.toString();
            coordinators[i] = gid.originNode();
            generations[i] = gid.generation();
            statuses[i] = s.status();
            promisedBallots[i] = s.promised().ballot();
            promisedNodes[i] = s.promised().node();
            acceptedBallots[i] = s.accepted().ballot();
            acceptedNodes[i] = s.accepted().node();
            i++;
        }
        if (n == 1) {
            try (PreparedStatement ps = c.prepareStatement(STORE_ONE)) {
                ps.setString(1, gids[0]);
                ps.setInt(2, coordinators[0]);
                ps.setLong(3, generations[0]);
                ps.setString(4, statuses[0]);
                ps.setInt(5, promisedBallots[0]);
                ps.setInt(6, promisedNodes[0]);
                ps.setInt(7, acceptedBallots[0]);
                ps.setInt(8, acceptedNodes[0]);
                ps.executeUpdate();
            }
            return;
        }
        try (PreparedStatement ps = c.prepareStatement(STORE_ALL)) {
            ps.setArray(1, c.createArrayOf("text", gids));
            ps.setArray(2, c.createArrayOf("int4", coordinators));
            ps.setArray(3, c.createArrayOf("int8", generations));
            ps.setArray(4, c.createArrayOf("text", statuses));
            ps.setArray(5, c.createArrayOf("int4", promisedBallots));
            ps.setArray(6, c.createArrayOf("int4", promisedNodes));
            ps.setArray(7, c.createArrayOf("int4", acceptedBallots));
            ps.setArray(8, c.createArrayOf("int4", acceptedNodes));
            ps.executeUpdate();
        }
    }
}
