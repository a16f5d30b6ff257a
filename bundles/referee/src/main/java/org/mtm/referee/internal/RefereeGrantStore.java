package org.mtm.referee.internal;

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
 * The referee's decision, kept in its own PostgreSQL ({@code mtm.referee_decision}) so that it survives
 * restarts of the referee; decisions are made under a row lock so two applicants cannot both win.
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
    private static final String KEY = "winner";

    private final LocalDatabase database;
    private final int decisionTimeoutMs;

    @Activate
    public RefereeGrantStore(@Reference(name = "database") LocalDatabase database, Config config) throws SQLException {
        this.database = database;
        this.decisionTimeoutMs = Math.max(1, config.decision__timeout());
        try (Connection c = database.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA IF NOT EXISTS mtm");
            st.execute("CREATE TABLE IF NOT EXISTS mtm.referee_decision (key text PRIMARY KEY,"
                + " node_id int NOT NULL, gen_num bigint NOT NULL)");
        }
    }

    @Override
    public Grant request(int node, long generation) throws RefereeGrantRefused, SQLException {
        try (Connection c = database.connect()) {
            c.setAutoCommit(false);
            // Serialise deciders: the advisory lock stands in for the row lock when no row exists yet.
            lockDecisions(c);
            Optional<Grant> held = read(c);
            Optional<Grant> decided = GrantRules.decide(held, node, generation);
            if (decided.isEmpty()) {
                c.rollback();
                throw new RefereeGrantRefused(held.orElseThrow());
            }
            Grant g = decided.get();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO mtm.referee_decision (key, node_id, gen_num)"
                + " VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET node_id = excluded.node_id, gen_num = excluded.gen_num")) {
                ps.setString(1, KEY);
                ps.setInt(2, g.node());
                ps.setLong(3, g.generation());
                ps.executeUpdate();
            }
            c.commit();
            if (!held.equals(decided)) {
                LOG.info("referee: grant issued to node {} in generation {}", g.node(), g.generation());
            }
            return g;
        }
    }

    @Override
    public void clear(int node, long fullGeneration) throws SQLException {
        try (Connection c = database.connect()) {
            c.setAutoCommit(false);
            lockDecisions(c);
            Optional<Grant> held = read(c);
            if (held.isPresent() && GrantRules.cleared(held.get(), node, fullGeneration)) {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM mtm.referee_decision WHERE key = ?")) {
                    ps.setString(1, KEY);
                    ps.executeUpdate();
                }
                LOG.info("referee: grant of node {} in generation {} cleared (node {} online in generation {})",
                    held.get().node(), held.get().generation(), node, fullGeneration);
            }
            c.commit();
        }
    }

    @Override
    public Optional<Grant> current() throws SQLException {
        try (Connection c = database.connect()) {
            return read(c);
        }
    }

    /** Serialises deciders for at most decision_timeout; a longer wait fails with 55P03 (lock_not_available). */
    private void lockDecisions(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL lock_timeout = " + decisionTimeoutMs);
            st.execute("SELECT pg_advisory_xact_lock(hashtext('mtm.referee_decision'))");
        }
    }

    private static Optional<Grant> read(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT node_id, gen_num FROM mtm.referee_decision WHERE key = ?")) {
            ps.setString(1, KEY);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(new Grant(rs.getInt(1), rs.getLong(2))) : Optional.empty();
            }
        }
    }
}
