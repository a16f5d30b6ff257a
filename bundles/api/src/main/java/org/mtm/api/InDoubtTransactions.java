package org.mtm.api;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * This node's prepared copies of distributed transactions as the view {@code mtm.in_doubt} lists them (the postgres
 * bundle's schema.sql): the one reader behind {@code mtm:in-doubt}, the node MBean's {@code listInDoubt} and the
 * status page, so that the three never disagree on columns or order.
 */
public final class InDoubtTransactions {

    /**
     * One row of {@code mtm.in_doubt}; {@code state} is prepared, precommitted, preaborted, committed or aborted,
     * {@code prepared} the time as PostgreSQL prints it.
     */
    public record Row(String gid, int originNode, long generation, String state, String prepared, long ageMs) {
        /** The age as an operator reads it, e.g. {@code 12.345 s}. */
        public String age() {
            return String.format(java.util.Locale.ROOT, "%d.%03d s", ageMs / 1000, ageMs % 1000);
        }
    }

    /** Oldest first; the age in milliseconds. */
    public static final String QUERY = "SELECT gid, origin_node, generation, state, prepared::text,"
        + " (extract(epoch FROM age) * 1000)::bigint FROM mtm.in_doubt ORDER BY prepared, gid";

    private InDoubtTransactions() {
    }

    /** Oldest first. */
    public static List<Row> read(LocalDatabase database) throws SQLException {
        try (Connection c = database.connect()) {
            return read(c);
        }
    }

    /** Oldest first, on a connection to the node's own PostgreSQL. */
    public static List<Row> read(Connection connection) throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(QUERY)) {
            List<Row> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(new Row(rs.getString(1), rs.getInt(2), rs.getLong(3), rs.getString(4), rs.getString(5), rs.getLong(6)));
            }
            return rows;
        }
    }
}
