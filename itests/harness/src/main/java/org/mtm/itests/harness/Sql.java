package org.mtm.itests.harness;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/** pgjdbc connections to a port on the loopback (a node's gateway or its PostgreSQL) and small query helpers. */
public final class Sql {
    private Sql() {
    }

    public static String url(int port) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + KarafNode.DATABASE;
    }

    /** A connection as {@link KarafNode#DATABASE_USER}; {@code properties} are pgjdbc's ("prepareThreshold", "1", ...). */
    public static Connection connect(int port, String... properties) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", KarafNode.DATABASE_USER);
        String password = DatabasePasswords.forPort(port);
        if (password != null) {
            props.setProperty("password", password);
        }
        props.setProperty("connectTimeout", "10");
        props.setProperty("ApplicationName", "mtm-itests");
        for (int i = 0; i + 1 < properties.length; i += 2) {
            props.setProperty(properties[i], properties[i + 1]);
        }
        return DriverManager.getConnection(url(port), props);
    }

    /** Every row of {@code sql} as column label to text (nulls as null), in the order returned. */
    public static List<Map<String, String>> rows(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            ResultSetMetaData meta = rs.getMetaData();
            List<Map<String, String>> rows = new ArrayList<>();
            while (rs.next()) {
                Map<String, String> row = new LinkedHashMap<>();
                for (int c = 1; c <= meta.getColumnCount(); c++) {
                    row.put(meta.getColumnLabel(c), rs.getString(c));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    /** {@link #rows} on a fresh connection to {@code port}. */
    public static List<Map<String, String>> rows(int port, String sql) throws SQLException {
        try (Connection connection = connect(port)) {
            return rows(connection, sql);
        }
    }

    /** The first column of the single row of {@code sql}, as text. */
    public static String scalar(Connection connection, String sql) throws SQLException {
        List<Map<String, String>> rows = rows(connection, sql);
        if (rows.size() != 1) {
            throw new AssertionError("expected one row from '" + sql + "', got " + rows);
        }
        return rows.get(0).values().iterator().next();
    }

    public static String scalar(int port, String sql) throws SQLException {
        try (Connection connection = connect(port)) {
            return scalar(connection, sql);
        }
    }

    /** Runs {@code sql} (any statement) on a fresh connection to {@code port}, autocommit. */
    public static void execute(int port, String sql) throws SQLException {
        try (Connection connection = connect(port); Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    /** Runs {@code sql} (any statement) on {@code connection}. */
    public static void execute(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    /** The SQLSTATE of {@code e} or of the first chained exception that has one. */
    public static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
        }
        return null;
    }
}
