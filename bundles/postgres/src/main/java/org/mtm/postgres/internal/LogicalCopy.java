package org.mtm.postgres.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.mtm.api.Conninfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A new node made from a LOGICAL copy of a live node S (database.logical_copy_from; issue 15, rolling major upgrade):
 * initdb on this server's own major, then {@code pg_dump} of S's database taken at the snapshot exported when S's slot
 * for the new node is (re)created, restored here, and marked as waiting for {@code mtm.join_node} exactly as a base
 * backup is ({@link BaseBackup#markWaiting}), with the slot's consistent point L as the "backup end". A base backup
 * cannot cross majors (and zonky's 16/17 have no pg_upgrade); a dump can.
 *
 * <h2>Why nothing is applied twice or skipped</h2>
 * A base-backup node inherits, with S's data at B (the backup's end), S's prepared transactions and S's replication
 * origin progress of every peer j; join_node advances S's slot for it to B. A dump carries neither prepared
 * transactions nor origin progress, so this copy records instead:
 * <ul>
 * <li><b>S's own stream</b> (the recovery from S after join_node): S's slot for the new node is dropped and created
 *     again, two-phase, with an exported snapshot. Its consistent point L is where its decoding starts and
 *     {@code two_phase_at}; the snapshot shows exactly the transactions committed on S before L. A transaction
 *     committed after L is in the stream: one prepared before L is decoded whole at its COMMIT PREPARED (its PREPARE
 *     lies before two_phase_at) — it is not in the dump, and no prepared transaction exists here to be finished. The
 *     origin {@code mtm_node_S} starts at L (join_node does that with the "backup end" L; the slot's confirmed
 *     position is L already, so join_node's advance is a no-op).</li>
 * <li><b>Every other peer j's stream</b> (its slot for the new node was made by add_node before this copy): the
 *     origin {@code mtm_node_j} here gets P_j, S's durable progress of j (the highest of its worker origins) read
 *     just BEFORE the slot's creation starts. Every unit of j's stream up to P_j was prepared (or committed) on S
 *     before then; creating a logical slot waits for every transaction running when it starts, prepared ones
 *     included, so each of those units was committed or rolled back on S before L: committed ones are in the dump,
 *     and j's stream skips them here (ResumeFilter at P_j). Units after P_j that S committed before L are two-phase
 *     units logged in S's {@code mtm.applied_xacts} inside themselves — the row is in the same snapshot, so j's
 *     stream finds them applied. Units after P_j not committed on S at L come through S's stream after L (the
 *     recovery logs them under (j, their LSN in j's stream), above P_j, so they are applied, not skipped) or from j
 *     itself. Rows of {@code mtm.applied_xacts} are deleted only 10 minutes after their unit fell below S's progress,
 *     far longer than the copy takes.</li>
 * </ul>
 * The one gap: a PLAIN (not two-phase: written on j bypassing its gateway) unit of j that S commits between the
 * progress read and L is in the dump and is not logged, so j's stream applies it again. That window is the slot
 * creation (milliseconds); gateway writes and DDL are two-phase.
 *
 * <p>Roles come first ({@code pg_dumpall --roles-only}, existing ones left as they are); then the database, restored
 * whole in one transaction. The client tools are the newest found (the server's bin directory, pg_config's, Debian's):
 * pg_dump must be at least S's major (the embedded 16/17 binaries have none; the system's 15 dumps a 15 node and
 * restores into 17). Crash-safe: a file {@value #PENDING_FILE} says the copy is still to do; a restart drops the
 * half-restored database and copies again (the slot is made again with it).
 */
final class LogicalCopy {
    private static final Logger LOG = LoggerFactory.getLogger(LogicalCopy.class);
    static final String PENDING_FILE = "mtm_logical_copy_pending";
    private static final String DUMP_FILE = "mtm_logical_copy.dump";
    private static final String ROLES_FILE = "mtm_logical_copy_roles.sql";
    static final String MADE = "a logical copy";
    static final List<String> TOOLS = List.of("pg_dump", "pg_restore", "pg_dumpall");

    private LogicalCopy() {
    }

    /** Right after initdb: the copy is to be made at the first start. */
    static void request(ManagedPostgres pg, String sourceConninfo) throws IOException {
        pg.writeServerFile(pg.dataDirectory().resolve(PENDING_FILE), sourceConninfo + "\n");
    }

    /** The slot S made for the new node, its consistent point and exported snapshot. */
    record Slot(String name, String consistentPoint, String snapshot) {
    }

    /** After the server is up with its database: makes the copy when {@value #PENDING_FILE} asks for it. */
    static void finishIfPending(ManagedPostgres pg, Path serverBinDir) throws IOException, SQLException {
        Path pending = pg.dataDirectory().resolve(PENDING_FILE);
        if (!Files.exists(pending)) {
            return;
        }
        String sourceText = Files.readString(pending, StandardCharsets.UTF_8).strip();
        Conninfo source = Conninfo.parse(sourceText);
        Path tools = PostgresBinaries.clientToolsDir(serverBinDir, TOOLS);
        long t0 = System.nanoTime();
        LOG.info("making database {} of PostgreSQL {} from a logical copy of {} (database.logical_copy_from), client"
            + " tools of {}", pg.settings().database(), pg.dataDirectory(), source, tools);
        freshDatabase(pg);
        copyRoles(pg, tools, source);
        int sourceNode;
        int newNode;
        Map<Integer, String> progress;
        Slot slot;
        try (Connection s = open(source, false)) {
            sourceNode = selfId(s, source);
            newNode = nodeBeingAdded(s, sourceNode, pg.port());
            String slotName = "mtm_slot_" + newNode;
            try (Connection repl = open(source, true)) {
                for (int attempt = 1; ; attempt++) {
                    dropSlot(s, slotName);
                    // before the creation: every unit up to these positions is finished on S once the slot is consistent
                    progress = originProgress(s, sourceNode, newNode);
                    try {
                        slot = createSlot(repl, slotName);
                        break;
                    } catch (SQLException e) {
                        // made again meanwhile by S's own upkeep of its peers' slots: drop it once more
                        if (!"42710".equals(e.getSQLState()) || attempt >= 5) {
                            throw e;
                        }
                        LOG.info("slot {} of node {} was made again meanwhile; dropping it again", slotName, sourceNode);
                    }
                }
                LOG.info("slot {} of node {} made again at {} with snapshot {}; node {}'s progress of its peers before"
                    + " it: {}", slotName, sourceNode, slot.consistentPoint(), slot.snapshot(), sourceNode, progress);
                Path dump = pg.dataDirectory().resolve(DUMP_FILE);
                try {
                    long t = System.nanoTime();
                    ProcessRunner.Result r;
                    try (TemporaryPassFile passfile = TemporaryPassFile.of(pg)) {
                        r = pg.runAsServer(List.of(tools.resolve("pg_dump").toString(), "-d",
                            passfile.dial(source).format(), "--snapshot=" + slot.snapshot(), "-Fc", "-w", "-f",
                            dump.toString()));
                    }
                    if (!r.ok()) {
                        throw new ManagedPostgresException("pg_dump of " + source + " failed (a pg_dump older than the"
                            + " source's major cannot dump it: give the node client tools of that major on PATH):\n"
                            + r.output().strip());
                    }
                    LOG.info("pg_dump of {} done in {} ms: {} kB", source, (System.nanoTime() - t) / 1_000_000,
                        Files.size(dump) / 1024);
                    // the snapshot is needed no longer: the exporting connection may go
                    repl.close();
                    t = System.nanoTime();
                    try (TemporaryPassFile passfile = TemporaryPassFile.of(pg)) {
                        r = pg.runAsServer(List.of(tools.resolve("pg_restore").toString(), "-d",
                            passfile.dial(Conninfo.parse(pg.conninfo())).format(), "-w", "--single-transaction",
                            "--exit-on-error", dump.toString()));
                    }
                    if (!r.ok()) {
                        throw new ManagedPostgresException("pg_restore of the dump of " + source + " into "
                            + pg.dataDirectory() + " failed (a restart copies again):\n" + r.output().strip());
                    }
                    LOG.info("restored in {} ms", (System.nanoTime() - t) / 1_000_000);
                } finally {
                    Files.deleteIfExists(dump);
                }
            }
        }
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            for (Map.Entry<Integer, String> e : progress.entrySet()) {
                String origin = "mtm_node_" + e.getKey();
                st.execute("SELECT pg_catalog.pg_replication_origin_create('" + origin + "') WHERE NOT EXISTS"
                    + " (SELECT 1 FROM pg_catalog.pg_replication_origin WHERE roname = '" + origin + "')");
                st.execute("SELECT pg_catalog.pg_replication_origin_advance('" + origin + "', '" + e.getValue() + "')");
            }
            BaseBackup.markWaiting(c, slot.consistentPoint(), source.toString(), sourceNode, MADE);
        }
        Files.delete(pending);
        LOG.info("PostgreSQL {} is a logical copy of node {} at {} ({} ms): it waits for mtm.join_node({}, '{}')",
            pg.dataDirectory(), sourceNode, slot.consistentPoint(), (System.nanoTime() - t0) / 1_000_000, newNode,
            slot.consistentPoint());
    }

    /** A restart after a failed copy starts from an empty database again. */
    private static void freshDatabase(ManagedPostgres pg) throws SQLException {
        String db = pg.settings().database();
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + quoteIdent(db) + " WITH (FORCE)");
            st.execute("CREATE DATABASE " + quoteIdent(db));
        }
    }

    /** The source's roles, so that the restored objects keep their owners and grants; existing roles stay. */
    private static void copyRoles(ManagedPostgres pg, Path tools, Conninfo source) throws IOException {
        Path roles = pg.dataDirectory().resolve(ROLES_FILE);
        try (TemporaryPassFile passfile = TemporaryPassFile.of(pg)) {
            String dial = passfile.dial(source).format();
            ProcessRunner.Result r = pg.runAsServer(List.of(tools.resolve("pg_dumpall").toString(), "-d",
                dial, "-w", "--roles-only", "-f", roles.toString()));
            if (!r.ok()) {
                // a source user that cannot read pg_authid: the roles without their passwords
                r = pg.runAsServer(List.of(tools.resolve("pg_dumpall").toString(), "-d", dial, "-w",
                    "--roles-only", "--no-role-passwords", "-f", roles.toString()));
            }
            if (!r.ok()) {
                throw new ManagedPostgresException("pg_dumpall --roles-only of " + source + " failed:\n"
                    + r.output().strip());
            }
            String sql = Files.readString(roles, StandardCharsets.UTF_8);
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                for (String line : sql.split("\n")) {
                    String l = line.strip();
                    if (!l.startsWith("CREATE ROLE ")) {
                        continue;
                    }
                    String name = l.substring("CREATE ROLE ".length(), l.length() - 1);
                    st.execute("DO $$ BEGIN " + l + " EXCEPTION WHEN duplicate_object THEN NULL; END $$");
                    LOG.debug("role {} of {} present here", name, source);
                }
                // the attributes (ALTER ROLE … WITH …) and memberships (GRANT … TO …) of every role but this
                // server's own superuser, whose password is this node's configuration
                for (String line : sql.split("\n")) {
                    String l = line.strip();
                    boolean own = l.startsWith("ALTER ROLE " + quoteIdent(pg.settings().superuser()) + " ")
                        || l.startsWith("ALTER ROLE " + pg.settings().superuser() + " ");
                    if ((l.startsWith("ALTER ROLE ") && !own) || (l.startsWith("GRANT ") && l.contains(" TO "))) {
                        try {
                            st.execute(l);
                        } catch (SQLException e) {
                            LOG.warn("role statement of {} not taken here: {} ({})", source, l, e.getMessage());
                        }
                    }
                }
            } catch (SQLException e) {
                throw new ManagedPostgresException("cannot create the roles of " + source + " in " + pg.dataDirectory()
                    + ": " + e.getMessage(), e);
            }
        } finally {
            Files.deleteIfExists(roles);
        }
    }

    private static int selfId(Connection s, Conninfo source) throws SQLException {
        try (Statement st = s.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM mtm.cluster_nodes WHERE is_self")) {
            if (!rs.next()) {
                throw new ManagedPostgresException(source + " holds no mtm cluster (no row of mtm.cluster_nodes is its"
                    + " own): make new nodes from a node of an initialised cluster");
            }
            return rs.getInt(1);
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) {
                throw new ManagedPostgresException(source + " is not an mtm node (no mtm.cluster_nodes): give"
                    + " database.logical_copy_from an online node's conninfo", e);
            }
            throw e;
        }
    }

    /**
     * The node mtm.add_node added and nobody joined yet: its row has no transport. With several such rows, the one
     * whose conninfo names this server's port.
     */
    static int nodeBeingAdded(Connection s, int sourceNode, int ownPort) throws SQLException {
        Map<Integer, String> waiting = new LinkedHashMap<>();
        try (Statement st = s.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, conninfo FROM mtm.cluster_nodes WHERE NOT is_self AND"
                 + " transport_host = '-' ORDER BY id")) {
            while (rs.next()) {
                waiting.put(rs.getInt(1), rs.getString(2));
            }
        }
        if (waiting.size() == 1) {
            return waiting.keySet().iterator().next();
        }
        List<Integer> mine = new ArrayList<>();
        for (Map.Entry<Integer, String> e : waiting.entrySet()) {
            try {
                if (Conninfo.parse(e.getValue()).endpoint().port() == ownPort) {
                    mine.add(e.getKey());
                }
            } catch (IllegalArgumentException ignored) {
                // not this one
            }
        }
        if (mine.size() == 1) {
            return mine.get(0);
        }
        throw new ManagedPostgresException(waiting.isEmpty()
            ? "node " + sourceNode + " knows no node being added: run SELECT mtm.add_node('<this node's conninfo>') on"
                + " an online node first, then start this node with database.logical_copy_from"
            : "node " + sourceNode + " has several nodes being added (" + waiting + ") and none or several name port "
                + ownPort + ": set database.port to the port of the conninfo given to mtm.add_node");
    }

    private static void dropSlot(Connection s, String slot) throws SQLException {
        try (PreparedStatement ps = s.prepareStatement("SELECT active_pid FROM pg_catalog.pg_replication_slots"
            + " WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return;
                }
                if (rs.getObject(1) != null) {
                    throw new ManagedPostgresException("slot " + slot + " is in use (pid " + rs.getInt(1) + "): the"
                        + " node it is for has joined already; a logical copy is only for a node not joined yet");
                }
            }
        }
        try (PreparedStatement ps = s.prepareStatement("SELECT pg_catalog.pg_drop_replication_slot(?)")) {
            ps.setString(1, slot);
            ps.execute();
        }
    }

    /** S's durable progress of every peer's stream (the highest of the peer's origin and its workers'), by peer. */
    static Map<Integer, String> originProgress(Connection s, int sourceNode, int newNode) throws SQLException {
        Map<Integer, String> progress = new LinkedHashMap<>();
        try (Statement st = s.createStatement();
             ResultSet rs = st.executeQuery("SELECT substring(roname FROM '^mtm_node_([0-9]+)')::int AS peer,"
                 + " max(pg_catalog.pg_replication_origin_progress(roname, true))::text FROM pg_catalog.pg_replication_origin"
                 + " WHERE roname ~ '^mtm_node_[0-9]+(_[0-9]+)?$' GROUP BY 1 ORDER BY 1")) {
            while (rs.next()) {
                int peer = rs.getInt(1);
                String lsn = rs.getString(2);
                if (peer != sourceNode && peer != newNode && lsn != null && !lsn.equals("0/0")) {
                    progress.put(peer, lsn);
                }
            }
        }
        return progress;
    }

    /** Two-phase, like every mtm slot, with the snapshot exported for pg_dump. */
    static Slot createSlot(Connection repl, String slot) throws SQLException {
        try (Statement st = repl.createStatement();
             ResultSet rs = st.executeQuery("CREATE_REPLICATION_SLOT " + slot
                 + " LOGICAL pgoutput (TWO_PHASE true, SNAPSHOT 'export')")) {
            rs.next();
            return new Slot(rs.getString("slot_name"), rs.getString("consistent_point").toUpperCase(),
                rs.getString("snapshot_name"));
        }
    }

    private static Connection open(Conninfo info, boolean replication) throws SQLException {
        Properties p = info.jdbcProperties();
        if (replication) {
            p.setProperty("replication", "database");
            p.setProperty("assumeMinServerVersion", "15");
            p.setProperty("preferQueryMode", "simple");
        }
        Connection c = new org.postgresql.Driver().connect(info.jdbcUrl(), p);
        if (c == null) {
            throw new SQLException("pgjdbc does not accept URL " + info.jdbcUrl(), "08001");
        }
        return replication ? c : org.mtm.api.DurableCommits.on(c);
    }

    private static String quoteIdent(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }
}
