package org.mtm.admin.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.mtm.api.LocalDatabase;

/**
 * This node's prepared copies of distributed transactions as the view {@code mtm.in_doubt} lists them (schema.sql):
 * what {@code mtm:in-doubt} and the node MBean's {@code inDoubt} operation show.
 */
public final class InDoubtTransactions {

    /** One row of {@code mtm.in_doubt}; {@code state} is prepared, precommitted, preaborted, committed or aborted. */
    public record Row(String gid, int originNode, long generation, String state, String prepared, long ageMs) {
        /** The age as an operator reads it, e.g. {@code 12.345 s}. */
        public String age() {
            return String.format(java.util.Locale.ROOT, "%d.%03d s", ageMs / 1000, ageMs % 1000);
        }
    }

    static final String QUERY = "SELECT gid, origin_node, generation, state, prepared::text,"
        + " (extract(epoch FROM age) * 1000)::bigint FROM mtm.in_doubt ORDER BY prepared, gid";

    private InDoubtTransactions() {
    }

    /** Oldest first. */
    public static List<Row> read(LocalDatabase database) throws SQLException {
        try (Connection c = database.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(QUERY)) {
            List<Row> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(new Row(rs.getString(1), rs.getInt(2), rs.getLong(3), rs.getString(4), rs.getString(5), rs.getLong(6)));
            }
            return rows;
        }
    }
}
