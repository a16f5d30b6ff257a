package org.mtm.postgres.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.mtm.api.Conninfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A new node's data directory made from a live node (manual F.31.4.3, steps 3–5): {@code pg_basebackup} of the node's
 * PostgreSQL, started with {@code recovery_target = 'immediate'} so it stops at the backup's end — the point its
 * replication will start from — and promoted. The copy still holds the source node's catalog (it says it is that
 * node), so before anything reads it the server is marked as waiting to join: a row of {@code mtm.join_pending} (the
 * catalog then reads as "no cluster"), the reason in {@code mtm.generation_state.disabled_because} (the gateway refuses
 * work with it), no endpoints of the source's Karaf. {@code mtm.join_node} on an online node clears all that.
 *
 * <p>Crash-safe: a file {@value #PENDING_FILE} in the data directory says the marking is still to do, and every start
 * does it (idempotent) until it is done.
 */
final class BaseBackup {
    private static final Logger LOG = LoggerFactory.getLogger(BaseBackup.class);
    static final String PENDING_FILE = "mtm_join_pending";
    private static final Pattern END_POINT = Pattern.compile("write-ahead log end point: ([0-9A-Fa-f]+/[0-9A-Fa-f]+)");

    private BaseBackup() {
    }

    /** The backup's end LSN as {@code pg_basebackup -v} prints it; null when it did not. */
    static String endPoint(String output) {
        Matcher m = END_POINT.matcher(output);
        String last = null;
        while (m.find()) {
            last = m.group(1).toUpperCase();
        }
        return last;
    }

    static void take(ManagedPostgres pg, PostgresBinaries bin, RunAs as, String sourceConninfo) throws IOException {
        Path dataDir = pg.dataDirectory();
        try (Stream<Path> entries = Files.list(dataDir)) {
            if (entries.findAny().isPresent()) {
                throw new ManagedPostgresException("PostgreSQL data directory " + dataDir + " is neither empty nor a"
                    + " PostgreSQL data directory (no PG_VERSION): empty it to make it from a base backup");
            }
        }
        Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
        OsAccounts.handOver(dataDir, as);
        Conninfo source = Conninfo.parse(sourceConninfo);
        LOG.info("making PostgreSQL data directory {} from a base backup of {} (database.base_backup_from)", dataDir,
            source);
        long t = System.nanoTime();
        ProcessRunner.Result r = pg.runAsServer(List.of(bin.binDir().resolve("pg_basebackup").toString(), "-D",
            dataDir.toString(), "-d", source.format(), "-c", "fast", "-X", "stream", "-v", "-w"));
        String lsn = endPoint(r.output());
        if (!r.ok() || lsn == null) {
            throw new ManagedPostgresException("pg_basebackup from " + source + " into " + dataDir + " failed"
                + " (empty the data directory before retrying):\n" + r.output().strip());
        }
        long bytes = size(dataDir);
        LOG.info("base backup of {} done in {} ms: {} MB, ends at {}", source,
            (System.nanoTime() - t) / 1_000_000, bytes / (1024 * 1024), lsn);
        // the source's port and log: this server chooses its own port, keeps its own log
        Files.deleteIfExists(dataDir.resolve(ServerSettings.INCLUDE_FILE));
        Files.deleteIfExists(pg.logFile());
        String auto = Files.exists(dataDir.resolve("postgresql.auto.conf"))
            ? Files.readString(dataDir.resolve("postgresql.auto.conf")) : "";
        pg.writeServerFile(dataDir.resolve("postgresql.auto.conf"), auto + "restore_command = 'false'\n"
            + "recovery_target = 'immediate'\nrecovery_target_action = 'promote'\n");
        pg.writeServerFile(dataDir.resolve("recovery.signal"), "");
        pg.writeServerFile(dataDir.resolve(PENDING_FILE), lsn + "\n" + source + "\n");
    }

    /** After a start: once promoted, marks the copy as waiting to join (when {@value #PENDING_FILE} says so). */
    static void finishIfPending(ManagedPostgres pg) throws IOException, SQLException {
        Path pending = pg.dataDirectory().resolve(PENDING_FILE);
        if (!Files.exists(pending)) {
            return;
        }
        List<String> lines = Files.readAllLines(pending, StandardCharsets.UTF_8);
        String lsn = lines.get(0).strip();
        String source = lines.size() > 1 ? lines.get(1).strip() : "";
        long deadline = System.nanoTime() + pg.startTimeoutValue().toNanos();
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            while (true) {
                try (ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_is_in_recovery()")) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        break;
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new ManagedPostgresException("PostgreSQL " + pg.dataDirectory() + " made from a base backup"
                        + " did not finish its recovery to the backup's end (" + lsn + ") in time; see its log "
                        + pg.logFile());
                }
                sleep(200);
            }
            st.execute("ALTER SYSTEM RESET restore_command");
            st.execute("ALTER SYSTEM RESET recovery_target");
            st.execute("ALTER SYSTEM RESET recovery_target_action");
            st.execute("SELECT pg_catalog.pg_reload_conf()");
            int sourceNode;
            try (ResultSet rs = st.executeQuery("SELECT id FROM mtm.cluster_nodes WHERE is_self")) {
                if (!rs.next()) {
                    throw new ManagedPostgresException("the base backup of " + source + " holds no mtm cluster (no row"
                        + " of mtm.cluster_nodes is its own): make new nodes from a node of an initialised cluster");
                }
                sourceNode = rs.getInt(1);
            }
            c.setAutoCommit(false);
            st.execute(JOIN_PENDING_TABLE);
            st.execute("ALTER TABLE mtm.join_pending ADD COLUMN IF NOT EXISTS joined boolean NOT NULL DEFAULT false");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO mtm.join_pending (source_node, backup_end_lsn,"
                + " source_conninfo) VALUES (?, ?::pg_lsn, ?) ON CONFLICT (singleton) DO NOTHING")) {
                ps.setInt(1, sourceNode);
                ps.setString(2, lsn);
                ps.setString(3, source);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("UPDATE mtm.generation_state SET disabled_because = ?")) {
                ps.setString(1, waitingText(sourceNode, lsn));
                ps.executeUpdate();
            }
            st.executeUpdate("DELETE FROM mtm.endpoints");
            c.commit();
        }
        Files.delete(pending);
        LOG.info("PostgreSQL {} is a base backup of node {} ending at {}: it waits for mtm.join_node(<its id>, '{}')",
            pg.dataDirectory(), lsnSource(source), lsn, lsn);
    }

    static final String JOIN_PENDING_TABLE = "CREATE TABLE IF NOT EXISTS mtm.join_pending ("
        + " singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), source_node int NOT NULL,"
        + " backup_end_lsn pg_lsn NOT NULL, source_conninfo text NOT NULL, made_at timestamptz NOT NULL DEFAULT now())";

    /** What the new node says (mtm.status() disabled, the gateway's hint) until it has joined. */
    static String waitingText(int sourceNode, String lsn) {
        return "this server was made from a base backup of node " + sourceNode + " ending at " + lsn + " and waits to"
            + " join: run SELECT mtm.join_node(<the id mtm.add_node returned>, '" + lsn + "') on an online node";
    }

    private static String lsnSource(String source) {
        return source.isEmpty() ? "(unknown)" : source;
    }

    private static long size(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ManagedPostgresException("interrupted while waiting for the base backup's recovery", e);
        }
    }
}
