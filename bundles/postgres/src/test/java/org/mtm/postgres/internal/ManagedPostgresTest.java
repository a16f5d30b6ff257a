package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;
import org.junit.Rule;
import org.junit.Test;
import org.postgresql.Driver;

/** Real servers from the machine's PostgreSQL 15 binaries, run as the right OS user. */
public class ManagedPostgresTest {
    @Rule
    public final TestDirs dirs = new TestDirs();

    private ManagedPostgres.Builder builder(Path data) {
        return ManagedPostgres.builder().dataDirectory(data).setting("shared_buffers", "16MB");
    }

    private static String show(Connection c, String setting) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String query(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    public void startsWithMtmSettingsAndKeepsItsPortAcrossRestarts() throws Exception {
        Path data = dirs.newDir().resolve("nested/data");
        ManagedPostgres pg = dirs.track(builder(data).maxConnections(20).maxNodes(3).build());
        pg.start();
        assertTrue(pg.isRunning());
        assertFalse(pg.wasAdopted());
        int port = pg.port();
        assertTrue(port > 0 && port != 5432);
        assertEquals("host=127.0.0.1 port=" + port + " dbname=mydb user=mtmuser", pg.conninfo());
        assertEquals("jdbc:postgresql://127.0.0.1:" + port + "/mydb", pg.jdbcUrl());
        try (Connection c = pg.connect()) {
            assertEquals("logical", show(c, "wal_level"));
            assertEquals("60", show(c, "max_prepared_transactions"));
            assertEquals("20", show(c, "max_connections"));
            assertEquals("20", show(c, "max_wal_senders"));
            assertEquals("20", show(c, "max_replication_slots"));
            assertEquals("20", show(c, "max_worker_processes"));
            assertEquals("0", show(c, "wal_sender_timeout"));
            assertEquals("1s", show(c, "client_connection_check_interval"));
            assertEquals("on", show(c, "track_commit_timestamp"));
            assertEquals("127.0.0.1", show(c, "listen_addresses"));
            assertEquals("", show(c, "unix_socket_directories"));
            assertEquals("16MB", show(c, "shared_buffers"));
            assertEquals("on", show(c, "fsync"));
            assertEquals("UTF8", show(c, "server_encoding"));
            assertEquals("mydb", query(c, "SELECT current_database()"));
            assertEquals("mtmuser", query(c, "SELECT current_user"));
            assertEquals(data.toString(), show(c, "data_directory"));
        }
        String expectedOwner = OsAccounts.jvmIsRoot() ? "postgres" : System.getProperty("user.name");
        assertEquals(expectedOwner, pg.osUser());
        assertEquals(expectedOwner, Files.getOwner(data).getName());
        assertEquals(expectedOwner, ProcessHandle.of(pg.postmasterPid()).orElseThrow().info().user().orElseThrow());
        assertTrue(Files.size(pg.logFile()) > 0);
        try (Connection r = pg.connectReplication(); Statement st = r.createStatement();
             ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            assertTrue(rs.next());
        }

        pg.stop();
        assertFalse(pg.isRunning());
        assertThrows(IllegalStateException.class, pg::postmasterPid);
        assertEquals("the port stays known while stopped", port, pg.port());

        ManagedPostgres again = dirs.track(builder(data).maxConnections(20).maxNodes(3).build());
        assertEquals(port, again.port());
        again.start();
        assertFalse(again.wasAdopted());
        assertEquals(port, again.port());
        try (Connection c = again.connect()) {
            assertEquals("mydb", query(c, "SELECT current_database()"));
        }
        again.stop();
    }

    /**
     * A logical replication client that never confirms (a peer's receiver confirms only what it applied) holds a fast
     * shutdown forever with wal_sender_timeout = 0: the walsender waits for the last WAL to be confirmed. Found by
     * the fault battery: a node's PostgreSQL stayed "shutting down" for minutes after its Karaf stopped, and the node
     * could not start again. stop() terminates such walsenders after a grace and the shutdown finishes.
     */
    @Test
    public void aReplicationClientThatNeverConfirmsDoesNotHoldTheShutdown() throws Exception {
        ManagedPostgres pg = dirs.track(builder(dirs.newDir().resolve("data")).build());
        pg.start();
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY)");
            st.execute("SELECT pg_create_logical_replication_slot('never_confirms', 'test_decoding')");
        }
        try (Connection replication = pg.connectReplication()) {
            org.postgresql.replication.PGReplicationStream stream = replication.unwrap(org.postgresql.PGConnection.class)
                .getReplicationAPI().replicationStream().logical().withSlotName("never_confirms")
                .withStatusInterval(1, java.util.concurrent.TimeUnit.HOURS).start();
            try (Connection c = pg.connect(); Statement st = c.createStatement()) {
                st.execute("INSERT INTO t VALUES (1)"); // WAL the client never confirms
            }
            long t = System.nanoTime();
            pg.stop(); // the stream is never read: its client answers nothing
            long seconds = java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t);
            assertFalse("PostgreSQL stopped", pg.isRunning());
            // without the walsenders terminated the fast shutdown waits its whole timeout (60 s), then goes immediate
            assertTrue("stopped after " + seconds + " s", seconds < 50);
            stream.close();
        } catch (SQLException closedByTheShutdown) {
            assertFalse("PostgreSQL stopped", pg.isRunning());
        }
    }

    /**
     * A node's Karaf killed while its PostgreSQL was shutting down (held by a peer's walsender that never confirms):
     * the restarted node found the server "running" and adopted it, then waited on a server that refuses every
     * connection (57P03 "the database system is shutting down") until its start timeout. start() now finishes the
     * shutdown and starts the server afresh.
     */
    @Test
    public void aServerLeftShuttingDownIsStoppedAndStartedAgainNotAdopted() throws Exception {
        Path data = dirs.newDir().resolve("data");
        ManagedPostgres first = dirs.track(builder(data).build());
        first.start();
        try (Connection c = first.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY)");
            st.execute("SELECT pg_create_logical_replication_slot('never_confirms', 'test_decoding')");
        }
        Connection replication = first.connectReplication();
        replication.unwrap(org.postgresql.PGConnection.class).getReplicationAPI().replicationStream().logical()
            .withSlotName("never_confirms").withStatusInterval(1, java.util.concurrent.TimeUnit.HOURS).start();
        try (Connection c = first.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO t VALUES (1)"); // WAL the client never confirms: the shutdown waits for it
        }
        long pid = first.postmasterPid();
        assertEquals(0, new ProcessBuilder("kill", "-INT", Long.toString(pid)).inheritIO().start().waitFor());
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (!Files.readString(data.resolve(PostmasterPid.FILE)).contains("stopping")) {
            assertTrue("the postmaster records that it is stopping", System.nanoTime() < deadline);
            Thread.sleep(20); // a poll with a deadline (see the loop's condition)
        }

        ManagedPostgres second = dirs.track(builder(data).startTimeout(java.time.Duration.ofSeconds(20)).build());
        second.start();
        assertFalse("a stopping server is not adopted", second.wasAdopted());
        assertNotEquals(pid, second.postmasterPid());
        try (Connection c = second.connect()) {
            assertEquals("1", query(c, "SELECT count(*) FROM t"));
        }
        second.stop();
        try {
            replication.close();
        } catch (SQLException endedWithItsServer) {
            // its walsender was terminated by the shutdown
        }
    }

    @Test
    public void aDataDirectoryThatVanishedIsNotMadeAgainEmpty() throws Exception {
        Path data = dirs.newDir().resolve("data");
        ManagedPostgres pg = dirs.track(builder(data).build());
        pg.start();
        try (Connection c = pg.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE kept (id int PRIMARY KEY)");
        }
        assertTrue("noted beside the data directory", Files.exists(pg.madeNote()));
        pg.kill();
        // lost while the node runs (a volume gone, a directory deleted): an initdb here would serve an empty
        // database to this node's clients as if it had never joined a cluster
        Path away = data.resolveSibling("data.away");
        Files.move(data, away);
        ManagedPostgresException e = assertThrows(ManagedPostgresException.class, pg::start);
        assertTrue(e.getMessage(), e.getMessage().contains("is missing or empty, but this node ran its server there"));
        assertFalse("nothing made in its place, so that it can be put back as it was", Files.exists(data));
        // an empty directory in its place (an unmounted volume's mount point) is refused too
        Files.createDirectories(data);
        assertThrows(ManagedPostgresException.class, pg::start);
        // back where it was: the server starts on it with its data
        Files.delete(data);
        Files.move(away, data);
        pg.start();
        try (Connection c = pg.connect()) {
            assertEquals("0", query(c, "SELECT count(*) FROM kept"));
        }
        pg.stop();
    }

    @Test
    public void adoptsAServerLeftRunningAndRecoversFromKill() throws Exception {
        Path data = dirs.newDir().resolve("data");
        ManagedPostgres first = dirs.track(builder(data).build());
        first.start();
        long pid = first.postmasterPid();
        try (Connection c = first.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY)");
            st.execute("INSERT INTO t VALUES (1), (2)");
        }

        // the JVM that started it was SIGKILLed: a new instance on the same directory takes the server over
        ManagedPostgres second = dirs.track(builder(data).build());
        second.start();
        assertTrue(second.wasAdopted());
        assertEquals(pid, second.postmasterPid());
        assertEquals(first.port(), second.port());
        try (Connection c = second.connect()) {
            assertEquals("2", query(c, "SELECT count(*) FROM t"));
        }

        // adopting with changed settings restarts the server with them
        ManagedPostgres changed = dirs.track(builder(data).setting("work_mem", "8MB").build());
        changed.start();
        assertTrue(changed.wasAdopted());
        assertNotEquals(pid, changed.postmasterPid());
        try (Connection c = changed.connect()) {
            assertEquals("8MB", show(c, "work_mem"));
        }

        long killed = changed.postmasterPid();
        changed.kill();
        assertFalse(changed.isRunning());
        assertFalse("gone or a zombie", ProcessHandle.of(killed).map(ManagedPostgres::alive).orElse(false));

        changed.start(); // crash recovery
        assertFalse(changed.wasAdopted());
        try (Connection c = changed.connect()) {
            assertEquals("2", query(c, "SELECT count(*) FROM t"));
        }
        assertTrue(changed.lastLogLines(200), changed.lastLogLines(200).contains("not properly shut down"));
        changed.stop();
    }

    @Test
    public void passwordAuthenticationScramAndMd5() throws Exception {
        ManagedPostgres scram = dirs.track(builder(dirs.newDir().resolve("scram")).password("s3cr'et").build());
        scram.start();
        try (Connection c = scram.connect()) {
            assertTrue(query(c, "SELECT rolpassword FROM pg_authid WHERE rolname = current_user").startsWith("SCRAM-SHA-256$"));
        }
        assertRefusedWithout(scram);
        assertTrue(Files.readString(scram.dataDirectory().resolve("pg_hba.conf")).contains("scram-sha-256"));
        scram.stop();

        ManagedPostgres md5 = dirs.track(builder(dirs.newDir().resolve("md5")).password("pw5").authMethod("md5").build());
        md5.start();
        try (Connection c = md5.connect()) {
            assertTrue(query(c, "SELECT rolpassword FROM pg_authid WHERE rolname = current_user").startsWith("md5"));
            assertEquals("md5", show(c, "password_encryption"));
        }
        assertRefusedWithout(md5);
        md5.stop();
        md5.start(); // the md5 hash is kept; no second rehash needed
        try (Connection c = md5.connect()) {
            assertEquals("mydb", query(c, "SELECT current_database()"));
        }
        md5.stop();
    }

    private static void assertRefusedWithout(ManagedPostgres pg) {
        Properties p = new Properties();
        p.setProperty("user", pg.userName());
        p.setProperty("password", "wrong");
        SQLException e = assertThrows(SQLException.class, () -> new Driver().connect(pg.jdbcUrl(), p));
        assertEquals("28P01", e.getSQLState());
    }

    @Test
    public void failedStartNamesDataDirectoryLogAndServerMessage() throws Exception {
        Path data = dirs.newDir().resolve("data");
        ManagedPostgres pg = dirs.track(builder(data).setting("shared_buffers", "bogus").build());
        ManagedPostgresException e = assertThrows(ManagedPostgresException.class, pg::start);
        assertTrue(e.getMessage(), e.getMessage().contains("data directory: " + data));
        assertTrue(e.getMessage(), e.getMessage().contains("server log: " + data.resolve("log/postgresql.log")));
        assertTrue(e.getMessage(), e.getMessage().contains("invalid value for parameter \"shared_buffers\""));
        assertFalse(pg.isRunning());
    }

    @Test
    public void unusableDataDirectoriesAreNamed() throws Exception {
        Path root = dirs.newDir();
        Path junk = root.resolve("junk");
        Files.createDirectories(junk);
        Files.writeString(junk.resolve("file.txt"), "x");
        ManagedPostgresException e = assertThrows(ManagedPostgresException.class,
                () -> builder(junk).build().start());
        assertTrue(e.getMessage(), e.getMessage().contains(junk + " is neither empty nor a PostgreSQL data directory"));

        if (OsAccounts.jvmIsRoot()) {
            Path closed = root.resolve("closed");
            Files.createDirectories(closed);
            Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwx------"));
            ManagedPostgresException denied = assertThrows(ManagedPostgresException.class,
                    () -> builder(closed.resolve("data")).build().start());
            assertTrue(denied.getMessage(), denied.getMessage().contains("OS user 'postgres' cannot enter directory " + closed));
        } else {
            assertFalse(Files.isWritable(Path.of("/root")));
            ManagedPostgresException denied = assertThrows(ManagedPostgresException.class,
                    () -> builder(Path.of("/proc/mtm-data")).build().start());
            assertTrue(denied.getMessage(), denied.getMessage().contains("/proc/mtm-data"));
        }
    }

    @Test
    public void buildRefusesInconsistentSettings() {
        assertThrows(IllegalArgumentException.class, () -> ManagedPostgres.builder().build());
        assertThrows(IllegalArgumentException.class,
                () -> ManagedPostgres.builder().dataDirectory(Path.of("/tmp/x")).authMethod("scram-sha-256").build());
        assertThrows(IllegalArgumentException.class, () -> ManagedPostgres.builder().port(70000));
        assertEquals(Map.of(), ManagedPostgres.builder().dataDirectory(Path.of("/tmp/x")).build().settings().extra());
    }
}
