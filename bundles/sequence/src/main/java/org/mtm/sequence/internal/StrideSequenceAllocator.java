package org.mtm.sequence.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.mtm.api.ClusterState;
import org.mtm.api.LocalDatabase;
import org.mtm.api.SequenceAllocator;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code mtm.alter_sequences()} on this node: every sequence outside schema {@code mtm} gets the largest
 * configured node id as increment and restarts at the next value of this node's residue.
 */
@Component(immediate = true, service = SequenceAllocator.class, configurationPid = "org.mtm.multimaster")
@Designate(ocd = StrideSequenceAllocator.Config.class)
public final class StrideSequenceAllocator implements SequenceAllocator {

    private static final Logger LOG = LoggerFactory.getLogger(StrideSequenceAllocator.class);

    /** The part of {@code org.mtm.multimaster} this component reads. */
    @ObjectClassDefinition(name = "mtm sequences", description = "How sequences avoid collisions across nodes (org.mtm.multimaster)")
    public @interface Config {
        @AttributeDefinition(description = "false: node stride (node id + k * max node id); true: also monotonic across the cluster")
        boolean monotonic__sequences() default false;
    }

    private final LocalDatabase database;
    private final ClusterState clusterState;
    private volatile boolean monotonic;

    @Activate
    public StrideSequenceAllocator(@Reference(name = "database") LocalDatabase database,
                                   @Reference(name = "clusterState") ClusterState clusterState, Config config) {
        this.database = database;
        this.clusterState = clusterState;
        modified(config);
    }

    @Modified
    void modified(Config config) {
        monotonic = config.monotonic__sequences();
    }

    /** Whether nextval must also step over values other nodes handed out (applied by the applier). */
    public boolean isMonotonic() {
        return monotonic;
    }

    @Override
    public int alterSequences() throws SQLException {
        int self = clusterState.selfId();
        if (self == 0) {
            throw new SQLException("mtm.alter_sequences: the cluster is not initialised on this node; run"
                + " mtm.init_cluster first", "55000");
        }
        int maxId = clusterState.currentGeneration().configured().ids().stream().mapToInt(Integer::intValue).max()
            .orElse(self);
        List<String[]> sequences = new ArrayList<>();
        try (Connection c = database.connect()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT schemaname, sequencename, COALESCE(last_value, start_value)"
                     + " FROM pg_sequences WHERE schemaname <> 'mtm'")) {
                while (rs.next()) {
                    sequences.add(new String[] {rs.getString(1), rs.getString(2), Long.toString(rs.getLong(3))});
                }
            }
            try (Statement st = c.createStatement()) {
                for (String[] s : sequences) {
                    long restart = Stride.restartValue(Long.parseLong(s[2]), maxId, self);
                    st.execute("ALTER SEQUENCE " + quoteIdent(s[0]) + "." + quoteIdent(s[1]) + " INCREMENT BY " + maxId
                        + " RESTART WITH " + restart);
                }
            }
            c.commit();
        }
        LOG.info("node {}: alter_sequences set increment {} on {} sequences", self, maxId, sequences.size());
        return sequences.size();
    }

    static String quoteIdent(String ident) {
        return '"' + ident.replace("\"", "\"\"") + '"';
    }
}
