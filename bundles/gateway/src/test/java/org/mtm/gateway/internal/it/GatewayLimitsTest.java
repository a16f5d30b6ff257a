package org.mtm.gateway.internal.it;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.RuleChain;
import org.junit.rules.TestRule;
import org.mtm.api.Endpoint;

/**
 * The gateway's own bounds against connection floods (issue 14): {@code gateway.max_connections} refuses the
 * connection beyond it with PostgreSQL's FATAL 53300, and {@code gateway.startup_timeout_ms} closes a connection
 * that sends no startup packet, with FATAL 08P01, and {@code gateway.max_message_bytes} ends a session whose
 * message is longer, with FATAL 54000. Real PostgreSQL behind the gateway.
 */
public class GatewayLimitsTest {
    private static final TestPostgres PG = new TestPostgres();
    private static final TestGateway GW = new TestGateway(PG);

    @ClassRule
    public static final TestRule CHAIN = RuleChain.outerRule(PG).around(GW);

    @Test
    public void aConnectionBeyondTheLimitGets53300AndAFreedSlotIsUsedAgain() throws SQLException {
        GW.server().limits(2, 0);
        List<Connection> open = new ArrayList<>();
        try {
            open.add(TestPostgres.connect(GW.endpoint()));
            open.add(TestPostgres.connect(GW.endpoint()));
            try (Connection third = TestPostgres.connect(GW.endpoint())) {
                fail("a third connection over gateway.max_connections = 2 was accepted");
            } catch (SQLException e) {
                assertEquals(e.getMessage(), "53300", e.getSQLState());
                assertTrue(e.getMessage(), e.getMessage().contains("sorry, too many clients already")
                    && e.getMessage().contains("gateway.max_connections"));
            }
            open.remove(0).close();
            // the slot frees when the gateway has seen the close, as a PostgreSQL backend's does when it exits:
            // a client may be refused for a moment after its own close, so the test waits for that moment to pass
            org.mtm.testing.Await.until(10_000, "a freed slot serves the next client", () -> {
                try (Connection again = TestPostgres.connect(GW.endpoint());
                     java.sql.Statement st = again.createStatement()) {
                    return st.execute("SELECT 1");
                } catch (SQLException e) {
                    if (!"53300".equals(e.getSQLState())) {
                        throw e;
                    }
                    return false; // the close not seen yet: the slot is still taken
                }
            });
        } finally {
            for (Connection c : open) {
                c.close();
            }
            GW.server().limits(0, 0);
        }
    }

    @Test
    public void aMessageLongerThanTheBoundGets54000AndCopyStillStreams() throws SQLException {
        GW.server().limits(0, 0, 4096);
        try {
            try (Connection c = TestPostgres.connect(GW.endpoint()); java.sql.Statement st = c.createStatement()) {
                st.execute("SELECT '" + "x".repeat(3000) + "'");
                st.execute("CREATE TEMP TABLE long_rows (t text)");
                // COPY data streams through: a row longer than the bound is fine
                org.postgresql.copy.CopyManager copy = c.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
                try {
                    copy.copyIn("COPY long_rows FROM STDIN", new java.io.StringReader("y".repeat(10_000) + "\n"));
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                SQLException e = org.junit.Assert.assertThrows(SQLException.class,
                        () -> st.execute("SELECT '" + "x".repeat(5000) + "'"));
                assertEquals(e.getMessage(), "54000", e.getSQLState());
                assertTrue(e.getMessage(), e.getMessage().contains("gateway.max_message_bytes (4096)"));
            }
            try (Connection c = TestPostgres.connect(GW.endpoint()); java.sql.Statement st = c.createStatement()) {
                assertTrue("the next session is served", st.execute("SELECT 1"));
            }
        } finally {
            GW.server().limits(0, 0);
        }
    }

    @Test
    public void aClientThatSendsNoStartupPacketIsClosedWith08P01() throws IOException {
        GW.server().limits(0, 300);
        try {
            Endpoint at = GW.endpoint();
            long start = System.nanoTime();
            try (Socket silent = new Socket(at.host(), at.port())) {
                silent.setSoTimeout(10_000);
                byte[] reply = readToEnd(silent.getInputStream());
                long ms = (System.nanoTime() - start) / 1_000_000;
                String text = new String(reply, StandardCharsets.ISO_8859_1);
                assertTrue("an ErrorResponse: " + text, reply.length > 0 && reply[0] == 'E');
                assertTrue(text, text.contains("C08P01") && text.contains("gateway.startup_timeout_ms"));
                assertTrue("closed after the bound, not before: " + ms + " ms", ms >= 250);
            }
        } finally {
            GW.server().limits(0, 0);
        }
    }

    private static byte[] readToEnd(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[256];
        for (int n; (n = in.read(buf)) >= 0; ) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }
}
