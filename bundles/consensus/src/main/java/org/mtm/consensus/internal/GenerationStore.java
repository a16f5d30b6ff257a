package org.mtm.consensus.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.mtm.api.Generation;
import org.mtm.api.GenerationMarker;
import org.mtm.api.NodeSet;

/**
 * Reads and writes {@code mtm.generation_state} (schema owned by the postgres bundle's catalog). Every write is
 * committed with {@code synchronous_commit = on} before the caller acts on it (DESIGN §3: flushed before acting).
 */
final class GenerationStore {

    private GenerationStore() {
    }

    /** A write of the state, run inside a generation switch or alone. */
    interface Writer {
        void run() throws Exception;
    }

    static GenerationState load(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
            "SELECT current_gen, gen_members, gen_configured, last_online_in, last_vote, donors,"
                + " coalesce(vote_configured, gen_configured), coalesce(vote_accepted_in, last_vote) FROM mtm.generation_state");
             ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return GenerationState.NONE;
            }
            Generation gen = new Generation(rs.getLong(1), NodeSet.ofMask(rs.getLong(2)), NodeSet.ofMask(rs.getLong(3)));
            // a row written before change elections had two phases has no vote_accepted_in: its change, if any, was
            // accepted at last_vote (the only number a yes moved then)
            return new GenerationState(gen, rs.getLong(5), rs.getLong(4), NodeSet.ofMask(rs.getLong(6)),
                NodeSet.ofMask(rs.getLong(7)), rs.getLong(8));
        }
    }

    /** Why the node recorded that it cannot recover by itself ({@link #disable}); null: it did not. */
    static String disabledBecause(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT disabled_because FROM mtm.generation_state");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /**
     * mtm.join_node made this node itself but its own replication slots are not made yet (mtm.join_pending.joined; the
     * admin bundle makes them): it must not go online before, or peers would miss what it commits.
     */
    static boolean joinSlotsPending(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass('mtm.join_pending') IS NOT NULL AND EXISTS"
            + " (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('mtm.join_pending')"
            + " AND attname = 'joined')");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (!rs.getBoolean(1)) {
                return false;
            }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT EXISTS (SELECT 1 FROM mtm.join_pending WHERE joined)");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /**
     * Records, flushed, that the node cannot recover by itself and why: it stays disabled, across restarts, until it
     * is dropped and added again. The first reason is kept.
     */
    static void disable(Connection c, String why) throws SQLException {
        inFlushedTransaction(c, s -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE mtm.generation_state SET disabled_because = ?"
                 + " WHERE disabled_because IS NULL")) {
                ps.setString(1, why);
                ps.executeUpdate();
            }
        });
    }

    /**
     * Writes {@code next} as the node's state in one transaction; with {@code marker} it also logs the node's
     * ParallelSafe marker of {@code next}'s generation in it (the node goes online in that generation). The row is
     * only ever moved forward: a state with a lower generation or vote than the stored one is refused.
     */
    static void save(Connection c, GenerationState next, boolean marker) throws SQLException {
        inFlushedTransaction(c, s -> {
            Generation g = next.current();
            long before;
            try (ResultSet rs = s.executeQuery("SELECT gen_configured FROM mtm.generation_state FOR UPDATE")) {
                before = rs.next() ? rs.getLong(1) : 0;
            }
            int updated = s.executeUpdate("UPDATE mtm.generation_state SET current_gen = " + g.num()
                + ", gen_members = " + g.members().mask() + ", gen_configured = " + g.configured().mask()
                + ", last_online_in = " + next.lastOnlineIn() + ", last_vote = " + next.lastVote()
                + ", donors = " + next.donors().mask() + ", vote_configured = " + next.votedConfigured().mask()
                + ", vote_accepted_in = " + next.votedIn()
                + " WHERE current_gen <= " + g.num() + " AND last_vote <= " + next.lastVote());
            if (updated != 1) {
                throw new SQLException("mtm.generation_state was not moved to " + g + " (last vote " + next.lastVote()
                    + "): the stored state is newer or missing", "55000");
            }
            if (marker) {
                s.execute(GenerationMarker.emitSql(g.num()));
            }
            forgetDropped(s, NodeSet.ofMask(before), g);
        });
    }

    /**
     * A generation that left a node out of its configured set (mtm.drop_node): its row of {@code mtm.cluster_nodes}
     * goes in the same transaction as the generation, so the catalog and the generation never disagree after a
     * crash; the catalog's listeners (transport, applier) are told at commit and let the node go. Only nodes that were
     * configured before: the row of a node being added (mtm.add_node writes it before the election) stays.
     */
    private static void forgetDropped(Statement s, NodeSet before, Generation g) throws SQLException {
        NodeSet dropped = before.minus(g.configured());
        if (g.configured().isEmpty() || dropped.isEmpty()) {
            return;
        }
        int deleted = s.executeUpdate("DELETE FROM mtm.cluster_nodes WHERE NOT is_self AND (" + dropped.mask()
            + "::bigint >> (id - 1)) & 1 = 1");
        if (deleted > 0) {
            s.execute("NOTIFY " + CONFIG_CHANNEL); // delivered at commit
        }
    }

    /** The catalog's channel (postgres bundle, CatalogStore.CHANNEL): a change of mtm.cluster_nodes. */
    static final String CONFIG_CHANNEL = "mtm_config";

    private interface Work {
        void run(Statement s) throws SQLException;
    }

    /** Runs {@code work} in one transaction whose commit is flushed to disk before this returns. */
    private static void inFlushedTransaction(Connection c, Work work) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            s.execute("SET LOCAL synchronous_commit = on");
            work.run(s);
            c.commit();
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(autoCommit);
        }
    }
}
