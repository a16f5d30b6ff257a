package org.mtm.postgres.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
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
import org.mtm.api.DatabasePassword;
import org.postgresql.Driver;

/**
 * The node's default managed server (no database.password): a password derived from cluster.secret, scram-sha-256
 * for every connection, the loopback included — a local OS user or a loopback gateway's client without the password
 * is asked for one and refused with a wrong one. Real servers.
 */
public class GeneratedPasswordTest {
    @Rule
    public final TestDirs dirs = new TestDirs();

    private ManagedPostgres defaultNodeServer(Path data) {
        return dirs.track(DatabaseOptions.from(Configs.config(Map.of("database_datadir", data.toString())), null)
                .managedServer());
    }

    @Test
    public void loopbackConnectionsWithoutThePasswordAreRefused() throws Exception {
        Path data = dirs.newDir().resolve("data");
        ManagedPostgres pg = defaultNodeServer(data);
        pg.start();
        String password = DatabasePassword.derive(Configs.SECRET, "mtmuser");

        assertEquals("asked for a password (SASL), not let in", 10, firstAuthenticationRequest(pg.port(), "mtmuser", false));
        assertEquals("replication connections too", 10, firstAuthenticationRequest(pg.port(), "mtmuser", true));
        assertEquals("any role", 10, firstAuthenticationRequest(pg.port(), "postgres", false));
        SQLException wrong = assertThrows(SQLException.class, () -> connect(pg.port(), "not-the-password"));
        assertEquals("28P01", wrong.getSQLState());
        try (Connection c = connect(pg.port(), password); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            assertEquals("mtmuser", rs.getString(1));
        }
        try (Connection c = pg.connect()) {
            assertTrue("the node's own connections carry the password", c.isValid(5));
        }
        String hba = Files.readString(data.resolve("pg_hba.conf"));
        assertFalse(hba, ServerSettings.trusts(hba));
    }

    @Test
    public void aServerSetUpWithTrustGetsThePasswordAtItsNextStart() throws Exception {
        Path data = dirs.newDir().resolve("data");
        ManagedPostgres old = dirs.track(ManagedPostgres.builder().dataDirectory(data).setting("shared_buffers", "16MB").build());
        old.start();
        int port = old.port();
        assertEquals("an earlier version trusted the loopback", 0, firstAuthenticationRequest(port, "mtmuser", false));
        old.stop();

        ManagedPostgres pg = defaultNodeServer(data);
        pg.start();
        assertEquals(port, pg.port());
        assertEquals(10, firstAuthenticationRequest(port, "mtmuser", false));
        try (Connection c = connect(port, DatabasePassword.derive(Configs.SECRET, "mtmuser"))) {
            assertTrue(c.isValid(5));
        }
        pg.stop();
        pg.start(); // and again, now that the role has its password
        assertEquals(10, firstAuthenticationRequest(port, "mtmuser", false));
    }

    @Test
    public void theNodesPasswordFileIsForItsUserAloneInLibpqFormat() throws Exception {
        Path file = dirs.newDir().resolve(PgPassFile.FILE_NAME);
        PgPassFile.write(file, "mtmuser", "a:b\\c");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertTrue(Files.readString(file).contains("\n*:*:*:mtmuser:a\\:b\\\\c\n"));
        PgPassFile.write(file, "mtmuser", "p2");
        assertTrue(Files.readString(file).endsWith("*:*:*:mtmuser:p2\n"));
    }

    private static Connection connect(int port, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "mtmuser");
        p.setProperty("password", password);
        return new Driver().connect("jdbc:postgresql://127.0.0.1:" + port + "/mydb", p);
    }

    /**
     * A StartupMessage without any password, as a local OS user's client (or a loopback gateway relaying one) sends
     * it: the code of the server's first Authentication message (0 = let in, 10 = SASL, a password is asked for).
     */
    static int firstAuthenticationRequest(int port, String user, boolean replication) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            DataOutputStream b = new DataOutputStream(body);
            b.writeInt(196608);
            for (String kv : replication ? new String[] {"user", user, "database", "mydb", "replication", "database"}
                    : new String[] {"user", user, "database", "mydb"}) {
                b.write(kv.getBytes(StandardCharsets.UTF_8));
                b.write(0);
            }
            b.write(0);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(body.size() + 4);
            out.write(body.toByteArray());
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte type = in.readByte();
            int length = in.readInt();
            byte[] rest = new byte[length - 4];
            in.readFully(rest);
            if (type != 'R') {
                throw new AssertionError("expected an Authentication message, got '" + (char) type + "': "
                        + new String(rest, StandardCharsets.UTF_8));
            }
            return new DataInputStream(new java.io.ByteArrayInputStream(rest)).readInt();
        }
    }
}
