package org.mtm.referee.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import org.mtm.api.LocalDatabase;
import org.mtm.api.RefereeGrants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The referee's decision, kept in its own PostgreSQL ({@code mtm.referee_decision}) so that it survives restarts of
 * the referee. On activation it installs the functions data nodes call through {@code referee_connstring}
 * ({@code referee.sql}); decisions run inside PostgreSQL under an advisory lock, so two applicants cannot both win
 * and the referee's Karaf need not be up for a decision, only its PostgreSQL.
 */
@Component(immediate = true, service = RefereeGrants.class, configurationPid = "org.mtm.referee")
@Designate(ocd = RefereeGrantStore.Config.class)
public final class RefereeGrantStore implements RefereeGrants {

    /** PID {@code org.mtm.referee}: settings of the referee role. */
    @ObjectClassDefinition(name = "mtm referee", description = "The referee of a 2+1 cluster")
    public @interface Config {
        @AttributeDefinition(description = "Longest wait, in ms, for another grant decision in progress; then the"
            + " request fails and the data node asks again")
        int decision__timeout() default 5000;
    }

    private static final Logger LOG = LoggerFactory.getLogger(RefereeGrantStore.class);

    private final LocalDatabase database;
    private final int decisionTimeoutMs;

    @Activate
    public RefereeGrantStore(@Reference(name = "database") LocalDatabase database, Config config) throws SQLException {
        this.database = database;
        this.decisionTimeoutMs = Math.max(1, config.decision__timeout());
        try (Connection c = database.connect(); Statement st = c.createStatement()) {
            for (String sql : script().split("\n;;\n")) {
                st.execute(sql);
            }
        }
        LOG.info("referee: decision functions installed; grant now: {}", current().map(Object::toString).orElse("none"));
    }

    static String script() {
        try (InputStream in = RefereeGrantStore.class.getResourceAsStream("referee.sql")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("referee.sql is missing from the referee bundle", e);
        }
    }

    @Override
    public Grant request(int node, long generation, long fullGeneration) throws RefereeGrantRefused, SQLException {
        try (Connection c = database.connect()) {
            Grant after = request(c, node, generation, fullGeneration, decisionTimeoutMs);
            if (!after.equals(new Grant(node, generation))) {
                throw new RefereeGrantRefused(after);
            }
            return after;
        }
    }

    /**
     * Asks the referee's PostgreSQL on {@code c} (the data nodes' path as well); answers the grant held afterwards.
     * A wait longer than {@code timeoutMs} for another decision fails with 55P03 (lock_not_available).
     */
    public static Grant request(Connection c, int node, long generation, long fullGeneration, int timeoutMs)
        throws SQLException {
        c.setAutoCommit(false);
        try {
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL lock_timeout = " + timeoutMs);
            }
            Grant after;
            try (PreparedStatement ps = c.prepareStatement("SELECT granted_node, granted_gen FROM mtm.referee_request_grant(?, ?, ?)")) {
                ps.setInt(1, node);
                ps.setLong(2, generation);
                ps.setLong(3, fullGeneration);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    after = new Grant(rs.getInt(1), rs.getLong(2));
                }
            }
            c.commit();
            return after;
        } catch (SQLException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    @Override
    public void clear(long fullGeneration, int node, long lastVote) throws SQLException {
        try (Connection c = database.connect(); PreparedStatement ps = c.prepareStatement("SELECT mtm.referee_clear_grant(?, ?, ?)")) {
            ps.setLong(1, fullGeneration);
            ps.setInt(2, node);
            ps.setLong(3, lastVote);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (rs.getBoolean(1)) {
                    LOG.info("referee: grant cleared (a node is online in full generation {})", fullGeneration);
                }
            }
        }
    }

    @Override
    public Optional<Grant> current() throws SQLException {
        try (Connection c = database.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT granted_node, granted_gen FROM mtm.referee_grant()")) {
            return rs.next() ? Optional.of(new Grant(rs.getInt(1), rs.getLong(2))) : Optional.empty();
        }
    }
}
