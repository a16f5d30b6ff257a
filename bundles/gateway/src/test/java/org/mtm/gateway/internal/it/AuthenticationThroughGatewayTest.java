package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;

/**
 * Password authentication passes through untouched: the gateway never sees a password, it relays the
 * server's AuthenticationMD5Password / AuthenticationSASL exchange. The server's pg_hba says md5; a role
 * whose password is stored as SCRAM authenticates with SCRAM-SHA-256 under md5 (PostgreSQL's rule).
 */
public class AuthenticationThroughGatewayTest {
    private static final String SUPER_PASSWORD = "super secret";
    private static final String SCRAM_PASSWORD = "scr@m pass";
    private static final TestPostgres PG = new TestPostgres(b -> b.password(SUPER_PASSWORD).authMethod("md5"));
    private static final TestGateway GW = new TestGateway(PG);

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @BeforeClass
    public static void scramRole() throws SQLException {
        try (Connection c = PG.direct(); Statement st = c.createStatement()) {
            st.execute("SET password_encryption = 'scram-sha-256'");
            st.execute("CREATE ROLE scramuser LOGIN PASSWORD '" + SCRAM_PASSWORD + "'");
            st.execute("GRANT ALL ON DATABASE " + TestPostgres.DATABASE + " TO scramuser");
            try (ResultSet rs = st.executeQuery("SELECT rolname, left(rolpassword, 14) FROM pg_authid "
                    + "WHERE rolname IN ('" + TestPostgres.USER + "', 'scramuser') ORDER BY rolname")) {
                rs.next();
                assertTrue(rs.getString(2).startsWith("md5"));
                rs.next();
                assertEquals("SCRAM-SHA-256$", rs.getString(2));
            }
        }
    }

    private static Connection connect(String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        return TestPostgres.connect(GW.endpoint(), p);
    }

    private static String whoami(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    public void md5WithTheRightPassword() throws SQLException {
        try (Connection c = connect(TestPostgres.USER, SUPER_PASSWORD)) {
            assertEquals(TestPostgres.USER, whoami(c));
        }
    }

    @Test
    public void scramWithTheRightPassword() throws SQLException {
        try (Connection c = connect("scramuser", SCRAM_PASSWORD)) {
            assertEquals("scramuser", whoami(c));
        }
    }

    @Test
    public void wrongPasswordsAreRejectedByTheServer() {
        SQLException md5 = assertThrows(SQLException.class, () -> connect(TestPostgres.USER, "wrong"));
        assertEquals("28P01", md5.getSQLState());
        SQLException scram = assertThrows(SQLException.class, () -> connect("scramuser", "wrong"));
        assertEquals("28P01", scram.getSQLState());
    }

    @Test
    public void psqlWithPasswords() {
        Tools.Result ok = Tools.run(List.of(Tools.BIN.resolve("psql").toString(), "-X", "-At", "-d",
                        Tools.conninfo(GW.endpoint()).replace("user=" + TestPostgres.USER, "user=scramuser"), "-c",
                        "SELECT current_user"),
                Map.of("PGPASSWORD", SCRAM_PASSWORD), null, Duration.ofSeconds(20));
        assertEquals(ok.toString(), 0, ok.exitCode());
        assertEquals("scramuser", ok.stdout().trim());
        Tools.Result bad = Tools.run(List.of(Tools.BIN.resolve("psql").toString(), "-X", "-At", "-d",
                        Tools.conninfo(GW.endpoint()), "-c", "SELECT 1"),
                Map.of("PGPASSWORD", "wrong"), null, Duration.ofSeconds(20));
        assertNotEquals(bad.toString(), 0, bad.exitCode());
        assertTrue(bad.stderr(), bad.stderr().contains("password authentication failed"));
    }
}
