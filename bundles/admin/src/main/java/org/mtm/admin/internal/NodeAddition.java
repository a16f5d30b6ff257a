package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterCatalog;
import org.mtm.api.ClusterConfig;
import org.mtm.api.ClusterNode;
import org.mtm.api.ClusterState;
import org.mtm.api.Conninfo;
import org.mtm.api.Endpoint;
import org.mtm.api.Generation;
import org.mtm.api.LocalDatabase;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.Replication;
import org.mtm.api.SequenceAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code mtm.add_node(connstr)} and {@code mtm.join_node(node_id, backup_end_lsn)} (manual F.31.4.3) under a write
 * load: the new node's slot on every node exists before its base backup starts, so every write after the backup's end
 * is in some node's WAL for it; join_node starts it exactly there.
 *
 * <p>add_node: the new id (above every id this node's catalog, slots and origins ever named), then on every configured
 * node its catalog row (no transport yet: it is not running) and its slot {@code mtm_slot_<id>} and origin, and then the
 * election of the generation that configures it (members unchanged). A failed election takes the rows and slots away
 * again.
 *
 * <p>join_node: the new node was made from a base backup of node S (its managed PostgreSQL records S and the backup's
 * end in {@code mtm.join_pending}). S's slot for it is advanced to the backup's end; every node learns the new node's
 * transport; the sequences are strided for the larger id ({@code mtm.alter_sequences}); then, in one transaction on
 * the new node, it becomes itself (is_self), never online before, donor S, with S's origin at the backup's end — it
 * catches up from S as a returning node does (recovery of every origin, from S's WAL after the backup), makes its own
 * slots for its peers ({@link JoinedNodeSlots}; until they exist it does not go online), is elected into the
 * generation, recovers and goes online.
 */
final class NodeAddition {
    private static final Logger LOG = LoggerFactory.getLogger(NodeAddition.class);

    private final ClusterCatalog catalog;
    private final LocalDatabase localDatabase;

    NodeAddition(ClusterCatalog catalog, LocalDatabase localDatabase) {
        this.catalog = catalog;
        this.localDatabase = localDatabase;
    }

    int addNode(ClusterState state, String conninfoText) throws ClusterAdminException {
        Conninfo conninfo;
        try {
            conninfo = Conninfo.parse(conninfoText);
        } catch (IllegalArgumentException e) {
            throw new ClusterAdminException("22023", "mtm.add_node: '" + conninfoText + "' is not a valid conninfo: "
                + e.getMessage());
        }
        requireAllOnline(state, "add a node");
        ClusterConfig cfg = catalog.clusterConfig().orElseThrow(() ->
            new ClusterAdminException("55000", "this node is not initialised"));
        for (ClusterNode n : cfg.nodes()) {
            if (n.conninfo().equals(conninfoText)) {
                throw new ClusterAdminException("42710", "conninfo '" + conninfoText + "' is node " + n.id()
                    + "'s already: give the new node's own conninfo");
            }
        }
        int id;
        try (Connection local = localDatabase.connect()) {
            id = newNodeId(local, cfg);
        } catch (SQLException e) {
            throw sqlFailure("add_node", e);
        }
        // the new node is a base backup of one of them: it would have their triggers too
        for (ClusterNode n : cfg.nodes()) {
            try (Connection c = connect(n, cfg)) {
                ReplicaModeTriggers.refuseAny(c, "mtm.add_node: node " + n.id());
            } catch (SQLException e) {
                throw sqlFailure("add_node", e);
            }
        }
        List<ClusterNode> nodes = new ArrayList<>(cfg.nodes());
        nodes.add(new ClusterNode(id, conninfoText, new Endpoint("-", 0)));
        List<Integer> prepared = new ArrayList<>();
        try {
            for (ClusterNode n : cfg.nodes()) {
                try (Connection c = connect(n, cfg)) {
                    insertRow(c, id, conninfoText);
                    prepared.add(n.id());
                    ReplicationSetup.prepare(c, new ClusterConfig(n.id(), nodes));
                } catch (SQLException e) {
                    throw new ClusterAdminException(e.getSQLState() == null ? "XX000" : e.getSQLState(),
                        "mtm.add_node: cannot prepare node " + n.id() + " for node " + id + ": " + e.getMessage(), e);
                }
            }
            LOG.info("node {}: node {} ({}) has a catalog row and replication slot {} on every node {}; electing the"
                + " generation that configures it", cfg.selfId(), id, conninfo.toString(), Replication.slotName(id),
                cfg.configured());
            Generation g = state.addNode(id);
            LOG.info("node {}: node {} added: {}; make it from a base backup of an online node, start it, then call"
                + " mtm.join_node({}, '<backup end lsn>')", cfg.selfId(), id, g, id);
            return id;
        } catch (ClusterAdminException e) {
            undo(cfg, prepared, id);
            throw e;
        }
    }

    void joinNode(ClusterState state, SequenceAllocator sequences, int id, String lsnText) throws ClusterAdminException {
        String lsn = lsnText == null ? "" : lsnText.trim().toUpperCase();
        if (!lsn.matches("[0-9A-F]{1,8}/[0-9A-F]{1,8}")) {
            throw new ClusterAdminException("22P02", "mtm.join_node: invalid input syntax for type pg_lsn: \"" + lsnText
                + "\" (the end LSN pg_basebackup printed, e.g. '0/12D357F0')");
        }
        Generation gen = state.currentGeneration();
        if (!gen.configured().contains(id)) {
            throw new ClusterAdminException("42704", "node " + id + " is not configured (configured nodes are "
                + gen.configured() + "): call mtm.add_node(connstr) first");
        }
        if (gen.members().contains(id)) {
            throw new ClusterAdminException("55000", "node " + id + " has already joined: it is a member of " + gen
                + "; nothing to do");
        }
        ClusterConfig cfg = catalog.clusterConfig().orElseThrow(() ->
            new ClusterAdminException("55000", "this node is not initialised"));
        ClusterNode added = cfg.node(id).orElseThrow(() -> new ClusterAdminException("42704", "node " + id
            + " has no row in this node's catalog yet; retry in a moment"));
        Conninfo addedInfo = Conninfo.parse(added.conninfo());
        try (Connection target = NodeConnections.open(addedInfo, id)) {
            Pending pending = pending(target, id, addedInfo);
            if (!pending.lsn().equalsIgnoreCase(lsn)) {
                throw new ClusterAdminException("22023", "node " + id + " was made from a base backup of node "
                    + pending.source() + " that ends at " + pending.lsn() + ", not " + lsn + ": pass that LSN");
            }
            ReplicaModeTriggers.refuseAny(target, "mtm.join_node: node " + id + " (" + addedInfo.toString() + ")");
            Endpoint transport = catalog.advertisedEndpoints(target).get(ClusterCatalog.TRANSPORT);
            if (transport == null) {
                throw new ClusterAdminException("55000", "no mtm node is running beside node " + id + " ("
                    + addedInfo.toString() + "): its Karaf node has not advertised a transport endpoint; start it and retry");
            }
            ClusterNode source = cfg.node(pending.source()).orElseThrow(() -> new ClusterAdminException("55000",
                "node " + id + " was made from a base backup of node " + pending.source() + ", which is not configured"
                + " any more: make a new base backup of an online node"));
            if (!gen.members().contains(source.id())) {
                throw new ClusterAdminException("55000", "node " + id + " was made from a base backup of node "
                    + source.id() + ", which is not a member of " + gen + ": it is the only node it can join from;"
                    + " bring node " + source.id() + " online and retry");
            }
            try (Connection c = connect(source, cfg)) {
                advanceSlot(c, id, source.id(), lsn);
            }
            for (ClusterNode n : cfg.nodes()) {
                if (n.id() == id) {
                    continue;
                }
                try (Connection c = connect(n, cfg)) {
                    setTransport(c, id, transport);
                }
            }
            // the joined node's own slots are made by itself once it is itself (JoinedNodeSlots): creating a logical
            // slot waits for the prepared transactions copied with the backup, which only its catch-up finishes; it
            // makes them with its catch-up held between two transactions (SlotBuildHold), so that they are consistent
            // at once and miss no DDL the catch-up applies. Every origin it will apply under exists before its
            // catch-up starts: an origin created while a slot is built is not named to the peers (issue 11)
            ReplicationSetup.makeOrigins(target, new ClusterConfig(id, cfg.nodes()));
            try (Statement st = target.createStatement()) {
                String origin = Replication.originName(source.id());
                st.execute("SELECT pg_catalog.pg_replication_origin_advance('" + origin + "', '" + lsn + "')");
                logSourcesPreparedCopies(st, source.id());
            }
            if (sequences != null) {
                // node ids up to the new one: every node's sequences take the new stride before it can go online
                int altered = sequences.alterSequences();
                LOG.info("node {}: sequences strided for node {}: {} changed here", cfg.selfId(), id, altered);
            } else {
                LOG.warn("node {}: the sequence bundle is not running: run mtm.alter_sequences() once node {} is online",
                    cfg.selfId(), id);
            }
            becomeItself(target, id, transport, source.id(), state.currentGeneration());
            LOG.info("node {}: node {} joins: it catches up from node {} from {} (the end of its base backup)",
                cfg.selfId(), id, source.id(), lsn);
        } catch (SQLException e) {
            throw sqlFailure("join_node", e);
        }
    }

    private record Pending(int source, String lsn) {
    }

    /**
     * The source's own transactions that were prepared when its base backup was taken are copies of another node's
     * here, but without the {@code mtm.applied_xacts} row every applied copy carries (a node logs what it applies, not
     * what it coordinates). Logged now, before this node takes its id: whoever finishes one here — its catch-up, an
     * early commit, or the resolver once it waited long enough — the streams then know it is applied here. Without the
     * row, a copy the resolver committed left the catch-up a COMMIT PREPARED it could neither run nor find applied:
     * "WAL gone", the donor dropped (issue 11, seed 46561057177705). The LSNs are stand-ins below every stream position
     * (the copy's PREPARE in the source's stream is not known here), unique per copy; rows below the origin's progress
     * mean "applied" to every rule that reads them, and the receiver forgets them after their retention like any other.
     */
    private static void logSourcesPreparedCopies(Statement target, int source) throws SQLException {
        int logged = target.executeUpdate("INSERT INTO mtm.applied_xacts (origin, lsn, gid)"
            + " SELECT " + source + ", ('0/' || to_hex(row_number() OVER (ORDER BY p.gid)))::pg_lsn, p.gid"
            + " FROM pg_catalog.pg_prepared_xacts p WHERE p.database = pg_catalog.current_database()"
            + " AND p.gid LIKE 'MTM-" + source + "-%'"
            + " AND NOT EXISTS (SELECT 1 FROM mtm.applied_xacts a WHERE a.gid = p.gid)");
        if (logged > 0) {
            LOG.info("node {}'s base backup holds {} of its own transactions prepared: logged as applied copies",
                source, logged);
        }
    }

    /** What the new node's managed PostgreSQL recorded after its base backup; refused when it is not such a node. */
    private static Pending pending(Connection c, int id, Conninfo info) throws SQLException, ClusterAdminException {
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT id FROM mtm.cluster_nodes WHERE is_self")) {
                if (rs.next() && rs.getInt(1) == id) {
                    throw new ClusterAdminException("55000", "node " + id + " has already joined: it is catching up"
                        + " (mtm.status() on it); nothing to do");
                }
            } catch (SQLException e) {
                throw new ClusterAdminException("55000", "'" + info.toString() + "' does not reach an mtm node: " + e.getMessage()
                    + "; give mtm.add_node the conninfo of the new node's PostgreSQL, made from a base backup of an online"
                    + " node", e);
            }
            try (ResultSet rs = st.executeQuery("SELECT source_node, backup_end_lsn::text FROM mtm.join_pending")) {
                if (rs.next()) {
                    return new Pending(rs.getInt(1), rs.getString(2));
                }
            } catch (SQLException e) {
                // no such table: an mtm node of an older version, or not made from a base backup
            }
        }
        throw new ClusterAdminException("55000", "node " + id + " (" + info.toString() + ") is not waiting to join: it was"
            + " not made from a base backup by its managed PostgreSQL (database.base_backup_from); start the new node's"
            + " Karaf with database.base_backup_from set to an online node's conninfo and an empty data directory");
    }

    private static void advanceSlot(Connection c, int id, int source, String lsn) throws SQLException, ClusterAdminException {
        String slot = Replication.slotName(id);
        String confirmed;
        try (PreparedStatement ps = c.prepareStatement("SELECT confirmed_flush_lsn::text,"
            + " confirmed_flush_lsn <= ?::pg_lsn FROM pg_catalog.pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, lsn);
            ps.setString(2, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new ClusterAdminException("55000", "node " + source + " has no replication slot " + slot
                        + ": node " + id + " was not added through mtm.add_node; add it again");
                }
                confirmed = rs.getString(1);
                if (!rs.getBoolean(2)) {
                    throw new ClusterAdminException("55000", "the base backup of node " + source + " for node " + id
                        + " ends at " + lsn + ", before slot " + slot + " starts (" + confirmed + "): it was taken before"
                        + " mtm.add_node created the slot, so writes between would be lost; take a new base backup");
                }
            }
        }
        if (!confirmed.equalsIgnoreCase(lsn)) {
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.pg_replication_slot_advance(?, ?::pg_lsn)")) {
                ps.setString(1, slot);
                ps.setString(2, lsn);
                ps.execute();
            }
        }
    }

    private static void setTransport(Connection c, int id, Endpoint transport) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE mtm.cluster_nodes SET transport_host = ?,"
            + " transport_port = ? WHERE id = ?");
             Statement st = c.createStatement()) {
            ps.setString(1, transport.host());
            ps.setInt(2, transport.port());
            ps.setInt(3, id);
            ps.executeUpdate();
            st.execute("NOTIFY mtm_config");
        }
    }

    /**
     * The new node takes its identity, in one transaction: this is what its Karaf waits for (its catalog reads as "no
     * cluster" while {@code mtm.join_pending} has a row). Never online before, donor {@code source}, in the caller's
     * generation; its sequences moved to its residue.
     */
    private static void becomeItself(Connection c, int id, Endpoint transport, int source, Generation gen)
        throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL synchronous_commit = on");
            st.executeUpdate("UPDATE mtm.cluster_nodes SET is_self = (id = " + id + ")");
            st.executeUpdate("UPDATE mtm.cluster_nodes SET transport_host = '" + transport.host().replace("'", "''")
                + "', transport_port = " + transport.port() + " WHERE id = " + id);
            st.executeUpdate("UPDATE mtm.generation_state SET last_online_in = 0, donors = " + NodeSet.of(source).mask()
                + ", vote_configured = NULL, vote_accepted_in = NULL, disabled_because = NULL"
                + (gen.num() > 0 ? ", current_gen = greatest(current_gen, " + gen.num() + "), gen_members = CASE WHEN"
                + " current_gen < " + gen.num() + " THEN " + gen.members().mask() + " ELSE gen_members END,"
                + " gen_configured = CASE WHEN current_gen < " + gen.num() + " THEN " + gen.configured().mask()
                + " ELSE gen_configured END, last_vote = greatest(last_vote, " + gen.num() + ")" : ""));
            st.executeUpdate("UPDATE mtm.join_pending SET joined = true");
            st.executeQuery("SELECT count(*) FROM mtm.restride_sequences()").close();
            st.execute("NOTIFY mtm_config");
            c.commit();
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /** Every configured node must be an online member this node is connected to: all of them get the new slot. */
    private static void requireAllOnline(ClusterState state, String what) throws ClusterAdminException {
        if (state.status() != NodeStatus.ONLINE) {
            throw new ClusterAdminException("55000", "cannot " + what + " while this node is "
                + state.status().sqlName() + ": run it through an online node's gateway");
        }
        Generation gen = state.currentGeneration();
        NodeSet missing = gen.configured().minus(gen.members());
        NodeSet unreachable = gen.configured().without(state.selfId()).minus(state.statusReport().connected());
        if (!missing.isEmpty() || !unreachable.isEmpty()) {
            NodeSet both = missing.union(unreachable);
            throw new ClusterAdminException("55000", "cannot " + what + ": node(s) " + both + " of " + gen.configured()
                + " are not online; every configured node gets the new node's replication slot, so bring them online"
                + " (or drop them) first");
        }
    }

    /** One above every node id this node ever knew: catalog rows, slots and replication origins (dropped nodes too). */
    private static int newNodeId(Connection c, ClusterConfig cfg) throws SQLException, ClusterAdminException {
        int highest = cfg.configured().ids().stream().mapToInt(Integer::intValue).max().orElse(0);
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT coalesce(max(substring(n FROM '^mtm_(?:node|slot)_([0-9]+)')::int), 0)"
                 + " FROM (SELECT roname::text AS n FROM pg_catalog.pg_replication_origin UNION ALL"
                 + " SELECT slot_name::text FROM pg_catalog.pg_replication_slots UNION ALL"
                 + " SELECT 'mtm_node_' || id FROM mtm.cluster_nodes) names")) {
            rs.next();
            highest = Math.max(highest, rs.getInt(1));
        }
        if (highest >= NodeSet.MAX_NODE_ID) {
            throw new ClusterAdminException("54000", "no node id left: ids go up to " + NodeSet.MAX_NODE_ID
                + " and are not reused; initialise a new cluster to renumber");
        }
        return highest + 1;
    }

    private static void insertRow(Connection c, int id, String conninfo) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO mtm.cluster_nodes (id, conninfo, transport_host,"
            + " transport_port, is_self) VALUES (?, ?, '-', 0, false) ON CONFLICT (id) DO NOTHING");
             Statement st = c.createStatement()) {
            ps.setInt(1, id);
            ps.setString(2, conninfo);
            ps.executeUpdate();
            st.execute("NOTIFY mtm_config");
        }
    }

    /** A failed add: the rows and slots it made go again (best effort; a later drop_node would find none). */
    private void undo(ClusterConfig cfg, List<Integer> prepared, int id) {
        for (ClusterNode n : cfg.nodes()) {
            if (!prepared.contains(n.id())) {
                continue;
            }
            try (Connection c = connect(n, cfg); Statement st = c.createStatement()) {
                st.executeUpdate("DELETE FROM mtm.cluster_nodes WHERE id = " + id + " AND NOT is_self");
                st.execute("SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots"
                    + " WHERE slot_name = '" + Replication.slotName(id) + "' AND active_pid IS NULL");
                st.execute("NOTIFY mtm_config");
            } catch (SQLException | ClusterAdminException e) {
                LOG.warn("node {}: could not undo the failed addition of node {} on node {}: {}", cfg.selfId(), id,
                    n.id(), e.getMessage());
            }
        }
    }

    private Connection connect(ClusterNode n, ClusterConfig cfg) throws SQLException, ClusterAdminException {
        if (n.id() == cfg.selfId()) {
            return localDatabase.connect();
        }
        return NodeConnections.open(Conninfo.parse(n.conninfo()), n.id());
    }

    private static ClusterAdminException sqlFailure(String what, SQLException e) {
        return new ClusterAdminException(e.getSQLState() == null || e.getSQLState().length() != 5 ? "XX000"
            : e.getSQLState(), "mtm." + what + " failed: " + e.getMessage(), e);
    }
}
