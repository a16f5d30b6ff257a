package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.mtm.admin.internal.ping.PingVerdict;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterState;
import org.mtm.api.Conninfo;
import org.mtm.api.NodeReport;
import org.mtm.api.StatusReport;

/**
 * The I/O of {@code mtm.ping()} ({@link PingVerdict}): asks every other member of this node's generation, on its own
 * PostgreSQL by the conninfo of {@code mtm.nodes()}, for its {@code mtm.status()} — which fails there when no mtm node
 * runs beside that server, so an answer means the member's Karaf is alive too.
 */
final class ClusterPing {
    /** Seconds to connect to, and to hear from, one member. */
    private static final String TIMEOUT_S = "5";

    private ClusterPing() {
    }

    static boolean ping(ClusterState state) throws ClusterAdminException {
        if (state == null) {
            throw new ClusterAdminException("55000", "mtm.ping: this is not a data node (no mtm consensus component active)");
        }
        StatusReport self = state.statusReport();
        Map<Integer, PingVerdict.Answer> answers = new HashMap<>();
        if (self.myNodeId() != 0) {
            for (NodeReport n : state.nodeReports()) {
                if (!n.isSelf() && self.genMembers().contains(n.id())) {
                    answers.put(n.id(), ask(n.conninfo()));
                }
            }
        }
        Optional<PingVerdict.Problem> problem = PingVerdict.judge(self, answers);
        if (problem.isPresent()) {
            throw new ClusterAdminException(problem.get().sqlState(), problem.get().message());
        }
        return true;
    }

    private static PingVerdict.Answer ask(String conninfo) {
        try (Connection c = connect(conninfo); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT gen_num, status FROM mtm.status()")) {
            if (!rs.next()) {
                return PingVerdict.Answer.failed("mtm.status() returned no row (" + conninfo + ")");
            }
            return PingVerdict.Answer.of(rs.getLong(1), rs.getString(2));
        } catch (SQLException e) {
            return PingVerdict.Answer.failed(e.getMessage() + " (SQLSTATE " + e.getSQLState() + ", " + conninfo + ")");
        }
    }

    private static Connection connect(String conninfo) throws SQLException {
        Conninfo c = Conninfo.parse(conninfo);
        Properties p = c.jdbcProperties();
        p.setProperty("ApplicationName", "mtm_admin ping");
        p.putIfAbsent("connectTimeout", TIMEOUT_S);
        p.putIfAbsent("socketTimeout", TIMEOUT_S);
        Connection connection = new org.postgresql.Driver().connect(c.jdbcUrl(), p);
        if (connection == null) {
            throw new SQLException("the PostgreSQL driver does not accept URL " + c.jdbcUrl(), "08001");
        }
        return connection;
    }
}
