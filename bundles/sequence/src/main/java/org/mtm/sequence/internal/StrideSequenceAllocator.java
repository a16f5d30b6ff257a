package org.mtm.sequence.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.mtm.api.ClusterState;
import org.mtm.api.Conninfo;
import org.mtm.api.CoordinatedCommit;
import org.mtm.api.Coordinator;
import org.mtm.api.LocalDatabase;
import org.mtm.api.ReplicatedDdl;
import org.mtm.api.SequenceAllocator;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code mtm.alter_sequences()} (manual F.31.5.2): strides every sequence of every node in one distributed
 * transaction. New sequences need no call — the mtm schema's event trigger strides them on each node; this is
 * for sequences restored from a base backup, or after the node list changed. It reads what every node's
 * sequences handed out ({@code mtm.sequence_last_values()}), then runs {@link StrideStatement} locally as
 * replicated DDL (logged as a DDL message, so each peer's applier runs the same text, computing its own
 * residue) and commits it through the coordinator's 3PC ({@link CoordinatedCommit}) like the gateway commits a client's
 * transaction.
 */
@Component(immediate = true, service = SequenceAllocator.class, configurationPid = "org.mtm.multimaster")
@Designate(ocd = StrideSequenceAllocator.Config.class)
public final class StrideSequenceAllocator implements SequenceAllocator {

    private static final Logger LOG = LoggerFactory.getLogger(StrideSequenceAllocator.class);

    /** The part of {@code org.mtm.multimaster} this component reads. */
    @ObjectClassDefinition(name = "mtm sequences", description = "How sequences avoid collisions across nodes (org.mtm.multimaster)")
    public @interface Config {
        @AttributeDefinition(description = "false: node stride (node id + k * max node id); true: also monotonic across the"
            + " cluster (the applier moves sequences above what peers wrote)")
        boolean monotonic__sequences() default false;
    }

    private final LocalDatabase database;
    private final ClusterState clusterState;
    /** Optional and dynamic, as for the gateway: the consensus bundle may be updated while this one runs. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    private volatile Coordinator coordinator;
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

    /** Whether sequences also step over values other nodes handed out (the applier does it: ApplySession). */
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
        Coordinator coordinator = this.coordinator;
        if (coordinator == null) {
            throw new SQLException("mtm.alter_sequences: the commit coordinator of this node is not running (the consensus"
                + " bundle is starting or being updated); retry", "57P03");
        }
        String statement = strideStatement();
        try (Connection c = database.connect()) {
            c.setAutoCommit(false);
            int changed;
            try (PreparedStatement emit = c.prepareStatement("SELECT pg_catalog.pg_logical_emit_message(true, ?, ?)");
                 Statement st = c.createStatement()) {
                emit.setString(1, ReplicatedDdl.PREFIX);
                emit.setBytes(2, new ReplicatedDdl("", "", statement).encode());
                emit.executeQuery().close();
                changed = (int) single(st, statement);
                emit.setString(1, ReplicatedDdl.END_PREFIX);
                emit.setBytes(2, new byte[0]);
                emit.executeQuery().close();
            }
            CoordinatedCommit.commit(coordinator, c);
            LOG.info("node {}: alter_sequences strided {} sequence(s) here, on every node in one transaction", self, changed);
            return changed;
        }
    }

    /** Reads every configured node's sequences; all must answer, or the restart could land below a value issued. */
    private String strideStatement() throws SQLException {
        List<String[]> nodes = new ArrayList<>();
        try (Connection c = database.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, conninfo, is_self FROM mtm.cluster_nodes ORDER BY id")) {
            while (rs.next()) {
                nodes.add(new String[] {rs.getString(1), rs.getString(2), rs.getBoolean(3) ? "t" : "f"});
            }
        }
        StrideStatement stride = new StrideStatement();
        for (String[] node : nodes) {
            try (Connection c = node[2].equals("t") ? database.connect() : connect(node[0], node[1]);
                 Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT name, last_value FROM mtm.sequence_last_values()")) {
                while (rs.next()) {
                    stride.lastValue(rs.getString(1), rs.getBigDecimal(2));
                }
            }
        }
        return stride.sql();
    }

    private static Connection connect(String id, String conninfo) throws SQLException {
        Conninfo info = Conninfo.parse(conninfo);
        try {
            Connection c = new org.postgresql.Driver().connect(info.jdbcUrl(), info.jdbcProperties());
            if (c == null) {
                throw new SQLException("the PostgreSQL driver does not accept " + info.jdbcUrl());
            }
            return org.mtm.api.DurableCommits.on(c);
        } catch (SQLException e) {
            throw new SQLException("cannot read the sequences of node " + id + " (" + conninfo + "): " + e.getMessage()
                + "; every node must be reachable", "08006", e);
        }
    }

    private static long single(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
