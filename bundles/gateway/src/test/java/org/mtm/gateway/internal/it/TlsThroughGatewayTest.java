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
