package org.mtm.consensus.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.mtm.api.Conninfo;
import org.mtm.api.DurableCommits;
import org.mtm.api.RefereeReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data node's end of the referee (2+1 mode): one connection to the referee's PostgreSQL
 * ({@code referee_connstring}) on one thread, calling the functions the referee role installed there
 * ({@code mtm.referee_request_grant}, {@code mtm.referee_clear_grant}, {@code mtm.referee_grant}). Calls run one at a
 * time, in order; every second a probe reads the grant, so that the node's status shows whether the referee is
 * reachable, and the log says so when it is not — before the node needs it. Thin: the rules are the referee's.
 */
final class RefereeClient {
    private static final Logger LOG = LoggerFactory.getLogger(RefereeClient.class);
    static final long PROBE_MS = 1000;
    /** Bounds every call: a data node waiting for the referee shows isolated meanwhile. */
    static final int CONNECT_TIMEOUT_S = 2;
    static final int SOCKET_TIMEOUT_S = 4;
    static final int LOCK_TIMEOUT_MS = 3000;
    private static final org.postgresql.Driver DRIVER = new org.postgresql.Driver();

    /** The grant the referee holds after a request, or 0/0 for none. */
    record Held(int node, long generation) {
    }

    private final int self;
    private final Conninfo conninfo;
    private final String shown;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mtm-referee-client");
        t.setDaemon(true);
        return t;
    });
    private Connection connection;
    private volatile RefereeReport report;

    RefereeClient(int self, String connstring) {
        this.self = self;
        this.conninfo = Conninfo.parse(connstring);
        this.shown = conninfo.toString();
        this.report = new RefereeReport(shown, false, 0, 0, "not asked yet");
    }

    String conninfo() {
        return shown;
    }

    void start() {
        thread.scheduleWithFixedDelay(this::probe, 0, PROBE_MS, TimeUnit.MILLISECONDS);
    }

    void stop() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(SOCKET_TIMEOUT_S + 1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    RefereeReport report() {
        return report;
    }

    /**
     * Asks for generation {@code gen} for this node ({@code full}: the full generation it is online in, 0 for none);
     * {@code answer} gets the grant held afterwards, or null when the referee could not be asked.
     */
    void request(long gen, long full, Consumer<Held> answer) {
        submit(() -> {
            Held held = null;
            try {
                Connection c = connection();
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("SET LOCAL lock_timeout = " + LOCK_TIMEOUT_MS);
                }
                try (PreparedStatement ps = c.prepareStatement(
                    "SELECT granted_node, granted_gen FROM mtm.referee_request_grant(?, ?, ?)")) {
                    ps.setInt(1, self);
                    ps.setLong(2, gen);
                    ps.setLong(3, full);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        held = new Held(rs.getInt(1), rs.getLong(2));
                    }
                }
                c.commit();
                c.setAutoCommit(true);
                reached(held.node(), held.generation());
            } catch (SQLException e) {
                held = null;
                if ("55P03".equals(e.getSQLState())) {
                    close(); // the referee is busy deciding for the other node: no grant now, asked again next election
                    LOG.info("node {}: the referee {} is busy with another decision: {}", self, shown, e.getMessage());
                } else {
                    unreachable(e);
                }
            } catch (RuntimeException e) {
                held = null;
                unreachable(e);
            }
            answer.accept(held);
        });
    }

    /** Has the referee drop an obsolete grant or an unused one of this node's; {@code done} gets true on success. */
    void clear(long fullGen, long lastVote, Consumer<Boolean> done) {
        submit(() -> {
            boolean ok = false;
            try (PreparedStatement ps = connection().prepareStatement("SELECT mtm.referee_clear_grant(?, ?, ?)")) {
                ps.setLong(1, fullGen);
                ps.setInt(2, self);
                ps.setLong(3, lastVote);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        LOG.info("node {}: the referee cleared its grant (this node is online in generation {} of both"
                            + " data nodes)", self, fullGen);
                    }
                }
                ok = true;
                probeNow();
            } catch (SQLException | RuntimeException e) {
                unreachable(e);
            }
            done.accept(ok);
        });
    }

    private void probe() {
        probeNow();
    }

    private void probeNow() {
        try (Statement st = connection().createStatement();
             ResultSet rs = st.executeQuery("SELECT granted_node, granted_gen FROM mtm.referee_grant()")) {
            if (rs.next()) {
                reached(rs.getInt(1), rs.getLong(2));
            } else {
                reached(0, 0);
            }
        } catch (SQLException | RuntimeException e) {
            unreachable(e);
        }
    }

    private void reached(int node, long gen) {
        if (!report.reachable()) {
            LOG.info("node {}: referee {} reachable", self, shown);
        }
        report = new RefereeReport(shown, true, node, gen, "");
    }

    private void unreachable(Exception e) {
        close();
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof SQLException sql && "42883".equals(sql.getSQLState())) {
            why = why + " (is feature mtm-referee installed on the referee's Karaf?)";
        }
        RefereeReport before = report;
        if (before.reachable() || !before.problem().equals(why)) {
            LOG.warn("node {}: cannot reach its referee {}: {}; without it this node cannot work alone if it loses its"
                + " peer", self, shown, why);
        }
        report = new RefereeReport(shown, false, 0, 0, why);
    }

    private void submit(Runnable call) {
        try {
            thread.execute(call);
        } catch (RejectedExecutionException stopping) {
            // deactivating: the election times out
        }
    }

    private Connection connection() throws SQLException {
        if (connection != null) {
            return connection;
        }
        Properties p = conninfo.jdbcProperties();
        p.putIfAbsent("connectTimeout", Integer.toString(CONNECT_TIMEOUT_S));
        p.setProperty("socketTimeout", Integer.toString(SOCKET_TIMEOUT_S));
        p.setProperty("loginTimeout", Integer.toString(CONNECT_TIMEOUT_S));
        p.setProperty("tcpKeepAlive", "true");
        p.putIfAbsent("ApplicationName", "mtm_referee_client_" + self);
        Connection c = DRIVER.connect(conninfo.jdbcUrl(), p);
        if (c == null) {
            throw new SQLException("the PostgreSQL driver does not accept " + conninfo.jdbcUrl(), "08001");
        }
        connection = DurableCommits.on(c); // a grant answered must survive a crash of the referee's PostgreSQL
        return c;
    }

    private void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // a broken connection; the next call opens a new one
            }
            connection = null;
        }
    }
}
