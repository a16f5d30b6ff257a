package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.After;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.TestRule;
import org.mtm.gateway.internal.tls.GatewayTls;
import org.mtm.testing.TestCertificates;
import org.mtm.testing.TestCertificates.Authority;
import org.mtm.testing.TestCertificates.Issued;

/**
 * TLS between clients and the gateway (keys gateway.tls.*), with real clients and a real PostgreSQL behind:
 * pgjdbc and psql verify the gateway's certificate against the CA (sslmode=verify-full), pgbench runs over it,
 * a required TLS refuses plain connections with 28000, and a renewed certificate serves new connections
 * without a restart.
 */
public class TlsThroughGatewayTest {
    private static final TemporaryFolder DIR = new TemporaryFolder();
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG);

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(DIR).around(PG).around(GW);

    private static Authority ca;
    private static Issued gatewayCert;
    private static GatewayTls offered;

    @BeforeClass
    public static void certificates() throws IOException {
        Path dir = DIR.newFolder("tls").toPath();
        // psql may run as another user than the JVM's; the files are test throwaways
        dir.toFile().setReadable(true, false);
        ca = TestCertificates.authority(dir, "cluster-ca");
        gatewayCert = ca.issueLocal("gateway");
        offered = GatewayTls.of(new GatewayTls.Settings(gatewayCert.cert().toString(), gatewayCert.key().toString(), false));
        GW.tls(offered);
    }

    @After
    public void offeredAgain() {
        GW.tls(offered);
    }

    private static Connection verifyFull(Path rootCert) throws SQLException {
        return TestPostgres.connect(GW.endpoint(), "sslmode", "verify-full", "sslrootcert", rootCert.toString());
    }

    private static int selectOne(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static Tools.Result psql(String sslConninfo, String sql) {
        return Tools.run(List.of(Tools.BIN.resolve("psql").toString(), "-X", "-At", "-d",
                Tools.conninfo(GW.endpoint()) + " " + sslConninfo, "-c", sql), Map.of(), null, Duration.ofSeconds(20));
    }

    @Test
    public void pgjdbcVerifiesTheGatewayCertificate() throws SQLException {
        try (Connection c = verifyFull(ca.cert())) {
            assertEquals(1, selectOne(c));
        }
    }

    @Test
    public void pgjdbcRefusesACertificateFromAnotherCa() throws IOException {
        Authority other = TestCertificates.authority(DIR.newFolder().toPath(), "other-ca");
        SQLException e = assertThrows(SQLException.class, () -> verifyFull(other.cert()).close());
        assertEquals("08006", e.getSQLState());
    }

    @Test
    public void psqlVerifyFullConnectsOverTls() {
        Tools.Result r = psql("sslmode=verify-full sslrootcert=" + ca.cert(), "SELECT 42");
        assertEquals(r.toString(), 0, r.exitCode());
        assertEquals("42", r.stdout().trim());
        Tools.Result info = Tools.run(List.of(Tools.BIN.resolve("psql").toString(), "-X", "-d",
                Tools.conninfo(GW.endpoint()) + " sslmode=verify-full sslrootcert=" + ca.cert(), "-c", "\\conninfo"),
                Map.of(), null, Duration.ofSeconds(20));
        assertTrue(info.toString(), info.stdout().contains("SSL connection (protocol: TLSv1."));
    }

    @Test
    public void pgbenchRunsOverTls() throws IOException {
        Path script = DIR.newFile("select.sql").toPath();
        Files.writeString(script, "SELECT 1;\n");
        script.toFile().setReadable(true, false);
        Tools.Result r = Tools.run(List.of(Tools.BIN.resolve("pgbench").toString(), "-h", GW.endpoint().host(),
                "-p", Integer.toString(GW.endpoint().port()), "-U", TestPostgres.USER, "-n", "-c", "4", "-t", "50",
                "-f", script.toString(), TestPostgres.DATABASE),
                Map.of("PGSSLMODE", "verify-full", "PGSSLROOTCERT", ca.cert().toString()), null, Duration.ofSeconds(60));
        assertEquals(r.toString(), 0, r.exitCode());
        assertEquals(200, Tools.processed(r));
    }

    @Test
    public void requiredTlsRefusesPlainConnectionsWith28000() throws SQLException {
        GW.tls(GatewayTls.of(new GatewayTls.Settings(gatewayCert.cert().toString(), gatewayCert.key().toString(), true)));
        SQLException e = assertThrows(SQLException.class,
                () -> TestPostgres.connect(GW.endpoint(), "sslmode", "disable").close());
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage(), e.getMessage().contains("gateway.tls.required"));
        Tools.Result plain = psql("sslmode=disable", "SELECT 1");
        assertNotEquals(plain.toString(), 0, plain.exitCode());
        assertTrue(plain.stderr(), plain.stderr().contains("gateway.tls.required = true"));
        try (Connection c = verifyFull(ca.cert())) {
            assertEquals(1, selectOne(c));
        }
        Tools.Result tls = psql("sslmode=verify-full sslrootcert=" + ca.cert(), "SELECT 1");
        assertEquals(tls.toString(), 0, tls.exitCode());
    }

    @Test
    public void withoutACertificateSslRequestIsRefusedAndPlainWorks() throws SQLException {
        GW.tls(null);
        SQLException e = assertThrows(SQLException.class,
                () -> TestPostgres.connect(GW.endpoint(), "sslmode", "require").close());
        assertTrue(e.getMessage(), e.getMessage().contains("does not support SSL"));
        try (Connection c = TestPostgres.connect(GW.endpoint(), "sslmode", "prefer")) {
            assertEquals(1, selectOne(c));
        }
    }

    @Test
    public void aRenewedCertificateServesNewConnectionsWithoutARestart() throws Exception {
        Path dir = DIR.newFolder().toPath();
        Path cert = dir.resolve("served.crt");
        Path key = dir.resolve("served.key");
        Files.copy(gatewayCert.cert(), cert);
        Files.copy(gatewayCert.key(), key);
        GW.tls(GatewayTls.of(new GatewayTls.Settings(cert.toString(), key.toString(), false)));
        List<Connection> open = new ArrayList<>();
        try {
            open.add(verifyFull(ca.cert()));
            Authority renewedCa = TestCertificates.authority(DIR.newFolder().toPath(), "renewed-ca");
            Issued renewed = renewedCa.issueLocal("gateway-renewed");
            // the key first, then the certificate, each replaced by a rename, as a renewal tool does
            Files.copy(renewed.key(), dir.resolve("key.new"));
            Files.move(dir.resolve("key.new"), key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.copy(renewed.cert(), dir.resolve("cert.new"));
            Files.move(dir.resolve("cert.new"), cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

            open.add(verifyFull(renewedCa.cert()));
            assertThrows(SQLException.class, () -> verifyFull(ca.cert()).close());
            for (Connection c : open) {
                assertEquals("connections opened before the renewal go on", 1, selectOne(c));
            }
        } finally {
            for (Connection c : open) {
                c.close();
            }
        }
    }

    /** A client certificate for {@code cn} of {@code ca}, with its key also as PKCS#8 DER (what pgjdbc reads). */
    private static Issued client(Authority of, String cn) throws IOException {
        Issued c = of.issue(cn, "DNS:" + cn.replace('_', '-') + ".invalid");
        String pem = Files.readString(c.key());
        byte[] der = java.util.Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        Path pk8 = Path.of(c.key() + ".pk8");
        Files.write(pk8, der);
        Files.setPosixFilePermissions(pk8, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return c;
    }

    private static Connection withCertificate(Issued cert, String sslmode) throws SQLException {
        return TestPostgres.connect(GW.endpoint(), "sslmode", sslmode, "sslrootcert", ca.cert().toString(),
                "sslcert", cert.cert().toString(), "sslkey", cert.key() + ".pk8");
    }

    private static String psqlCert(Issued cert) {
        return "sslmode=verify-full sslrootcert=" + ca.cert() + " sslcert=" + cert.cert() + " sslkey=" + cert.key();
    }

    @Test
    public void clientcertVerifyFullAcceptsTheCertificateWhoseCnIsTheUser() throws Exception {
        Authority clients = TestCertificates.authority(DIR.newFolder().toPath(), "client-ca");
        Issued user = client(clients, TestPostgres.USER);
        Issued mallory = client(clients, "mallory");
        GW.tls(GatewayTls.of(new GatewayTls.Settings(gatewayCert.cert().toString(), gatewayCert.key().toString(), false,
                clients.cert().toString(), "verify-full")));

        try (Connection c = withCertificate(user, "verify-full")) {
            assertEquals(1, selectOne(c));
        }
        SQLException other = assertThrows(SQLException.class, () -> withCertificate(mallory, "verify-full").close());
        assertEquals("28000", other.getSQLState());
        assertTrue(other.getMessage(), other.getMessage().contains("certificate validation (clientcert=verify-full) "
                + "failed for user \"" + TestPostgres.USER + "\": CN mismatch (the certificate's CN is \"mallory\""));
        SQLException none = assertThrows(SQLException.class, () -> verifyFull(ca.cert()).close());
        assertEquals("28000", none.getSQLState());
        assertTrue(none.getMessage(), none.getMessage().contains("connection requires a valid client certificate"));
        SQLException plain = assertThrows(SQLException.class,
                () -> TestPostgres.connect(GW.endpoint(), "sslmode", "disable").close());
        assertEquals("28000", plain.getSQLState());

        Tools.Result ok = psql(psqlCert(user), "SELECT 42");
        assertEquals(ok.toString(), 0, ok.exitCode());
        assertEquals("42", ok.stdout().trim());
        Tools.Result refused = psql(psqlCert(mallory), "SELECT 42");
        assertNotEquals(refused.toString(), 0, refused.exitCode());
        assertTrue(refused.stderr(), refused.stderr().contains("CN mismatch"));
    }

    @Test
    public void clientcertVerifyCaAcceptsAnyCertificateOfTheClientCaAndNoOther() throws Exception {
        Authority clients = TestCertificates.authority(DIR.newFolder().toPath(), "client-ca");
        Authority stranger = TestCertificates.authority(DIR.newFolder().toPath(), "stranger-ca");
        Issued mallory = client(clients, "mallory");
        Issued foreign = client(stranger, TestPostgres.USER);
        GW.tls(GatewayTls.of(new GatewayTls.Settings(gatewayCert.cert().toString(), gatewayCert.key().toString(), false,
                clients.cert().toString(), "verify-ca")));

        try (Connection c = withCertificate(mallory, "verify-full")) {
            assertEquals("any CN of the client CA", 1, selectOne(c));
        }
        // the TLS layer only asks for a certificate: one it cannot verify counts as none, refused at the startup
        SQLException e = assertThrows(SQLException.class, () -> withCertificate(foreign, "verify-full").close());
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage(), e.getMessage().contains("connection requires a valid client certificate "
                + "(gateway.tls.clientcert = verify-ca)"));
        Tools.Result refused = psql(psqlCert(foreign), "SELECT 1");
        assertNotEquals(refused.toString(), 0, refused.exitCode());
        Tools.Result ok = psql(psqlCert(mallory), "SELECT 1");
        assertEquals(ok.toString(), 0, ok.exitCode());
    }

    @Test
    public void aRevokedClientCertificateIsRefusedAndANewRevocationListAppliesWithoutARestart() throws Exception {
        Authority clients = TestCertificates.authority(DIR.newFolder().toPath(), "client-ca");
        Issued carol = client(clients, "carol");
        Issued mallory = client(clients, "mallory");
        Path crl = clients.revocationList(DIR.newFolder().toPath().resolve("client-ca.crl"), mallory);
        GW.tls(GatewayTls.of(new GatewayTls.Settings(gatewayCert.cert().toString(), gatewayCert.key().toString(), false,
                clients.cert().toString(), "verify-ca", crl.toString())));

        try (Connection c = withCertificate(carol, "verify-full")) {
            assertEquals("a certificate the list does not name", 1, selectOne(c));
            // the client sends it (its CA is the one asked for) and the TLS handshake fails, as with PostgreSQL's ssl_crl_file
            SQLException e = assertThrows(SQLException.class, () -> withCertificate(mallory, "verify-full").close());
            // TLS 1.3: the client may finish its side first and read the alert after (08006 instead of 08001)
            assertTrue(e.toString(), e.getSQLState().equals("08001") || e.getSQLState().equals("08006"));
            Tools.Result refused = psql(psqlCert(mallory), "SELECT 1");
            assertNotEquals(refused.toString(), 0, refused.exitCode());

            clients.revocationList(crl, mallory, carol); // carol's key is lost: her certificate is revoked too
            SQLException now = assertThrows(SQLException.class, () -> withCertificate(carol, "verify-full").close());
            assertTrue("the new list applies to the next connection: " + now,
                    now.getSQLState().equals("08001") || now.getSQLState().equals("08006"));
            assertEquals("the session opened before goes on", 1, selectOne(c));
        }
        IllegalArgumentException noCa = assertThrows(IllegalArgumentException.class, () -> GatewayTls.of(
                new GatewayTls.Settings(gatewayCert.cert().toString(), gatewayCert.key().toString(), false, "", "none",
                        crl.toString())));
        assertTrue(noCa.getMessage(), noCa.getMessage().contains("gateway.tls.client_ca_file"));
    }

    @Test
    public void aReplacedClientCaServesNewConnectionsWithoutARestart() throws Exception {
        Authority before = TestCertificates.authority(DIR.newFolder().toPath(), "client-ca-1");
        Authority after = TestCertificates.authority(DIR.newFolder().toPath(), "client-ca-2");
        Issued old = client(before, TestPostgres.USER);
        Issued renewed = client(after, TestPostgres.USER);
        Path dir = DIR.newFolder().toPath();
        Path caFile = dir.resolve("clients.crt");
        Files.copy(before.cert(), caFile);
        GW.tls(GatewayTls.of(new GatewayTls.Settings(gatewayCert.cert().toString(), gatewayCert.key().toString(), false,
                caFile.toString(), "verify-full")));
        try (Connection c = withCertificate(old, "verify-full")) {
            assertEquals(1, selectOne(c));
            Files.copy(after.cert(), dir.resolve("clients.new"));
            Files.move(dir.resolve("clients.new"), caFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            try (Connection n = withCertificate(renewed, "verify-full")) {
                assertEquals("a certificate of the new client CA", 1, selectOne(n));
            }
            SQLException e = assertThrows(SQLException.class, () -> withCertificate(old, "verify-full").close());
            assertEquals("the old CA's certificates no longer", "28000", e.getSQLState());
            assertEquals("the session opened before goes on", 1, selectOne(c));
        }
    }

    @Test
    public void clientcertSettingsAreChecked() {
        IllegalArgumentException noCa = assertThrows(IllegalArgumentException.class, () -> GatewayTls.of(
                new GatewayTls.Settings(gatewayCert.cert().toString(), gatewayCert.key().toString(), false, "", "verify-ca")));
        assertTrue(noCa.getMessage(), noCa.getMessage().contains("gateway.tls.client_ca_file"));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> GatewayTls.of(
                new GatewayTls.Settings(gatewayCert.cert().toString(), gatewayCert.key().toString(), false,
                        ca.cert().toString(), "verify")));
        assertTrue(bad.getMessage(), bad.getMessage().contains("gateway.tls.clientcert = 'verify'"));
        IllegalArgumentException noTls = assertThrows(IllegalArgumentException.class, () -> GatewayTls.of(
                new GatewayTls.Settings("", "", false, ca.cert().toString(), "verify-full")));
        assertTrue(noTls.getMessage(), noTls.getMessage().contains("gateway.tls.cert_file"));
    }

    @Test
    public void incompleteSettingsNameTheKeyToSet() {
        IllegalArgumentException required = assertThrows(IllegalArgumentException.class,
                () -> GatewayTls.of(new GatewayTls.Settings("", "", true)));
        assertTrue(required.getMessage(), required.getMessage().contains("gateway.tls.cert_file"));
        IllegalArgumentException noKey = assertThrows(IllegalArgumentException.class,
                () -> GatewayTls.of(new GatewayTls.Settings(gatewayCert.cert().toString(), "", false)));
        assertTrue(noKey.getMessage(), noKey.getMessage().contains("gateway.tls.key_file"));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> GatewayTls.of(new GatewayTls.Settings("/nonexistent/gw.crt", gatewayCert.key().toString(), false)));
        assertTrue(missing.getMessage(), missing.getMessage().contains("/nonexistent/gw.crt"));
        assertEquals(null, GatewayTls.of(new GatewayTls.Settings("", "", false)));
    }
}
