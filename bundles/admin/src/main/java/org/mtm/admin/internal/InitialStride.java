package org.mtm.admin.internal;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * init_cluster's part of node stride (manual F.31.1): sequences created before the cluster existed get the
 * stride the mtm event trigger gives new ones, each restarted above the largest value any node handed out
 * ({@code mtm.sequence_last_values()} of every node) and any row holds. Runs once the configuration is stored
 * on every node, each node striding its own sequences to its own residue.
 */
final class InitialStride {

    private InitialStride() {
    }

    /** @return how many sequences were strided on each node, in the order of {@code nodes} */
    static int[] apply(List<Connection> nodes) throws SQLException {
        Map<String, java.math.BigDecimal> floors = new TreeMap<>();
        for (Connection c : nodes) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT name, last_value FROM mtm.sequence_last_values()")) {
                while (rs.next()) {
                    floors.merge(rs.getString(1), rs.getBigDecimal(2), java.math.BigDecimal::max);
                }
            }
        }
        int[] strided = new int[nodes.size()];
        for (int i = 0; i < nodes.size(); i++) {
            Connection c = nodes.get(i);
            Array names = c.createArrayOf("text", floors.keySet().toArray());
            Array values = c.createArrayOf("numeric", floors.values().toArray());
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM mtm.stride_sequences(?, ?)")) {
                ps.setArray(1, names);
                ps.setArray(2, values);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    strided[i] = rs.getInt(1);
                }
            }
        }
        return strided;
    }
}
