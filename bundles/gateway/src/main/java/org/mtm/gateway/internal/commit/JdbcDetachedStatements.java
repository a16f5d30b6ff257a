package org.mtm.gateway.internal.commit;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/** {@link DetachedStatements} over JDBC connections (e.g. {@code LocalDatabase::connect}), run on an executor. */
public final class JdbcDetachedStatements implements DetachedStatements {

    /** Opens a new connection to the local PostgreSQL. */
    @FunctionalInterface
    public interface ConnectionSource {
        Connection open() throws SQLException;
    }

    private final ConnectionSource source;
    private final Executor executor;

    public JdbcDetachedStatements(ConnectionSource source, Executor executor) {
        this.source = source;
        this.executor = executor;
    }

    @Override
    public CompletionStage<QueryResult> execute(String sql) {
        return CompletableFuture.supplyAsync(() -> {
            try (Connection c = source.open()) {
                c.setAutoCommit(true);
                try (Statement st = c.createStatement()) {
                    st.execute(sql);
                    return new QueryResult(null, List.of(), null, warnings(st.getWarnings()), 'I');
                } catch (SQLException e) {
                    String state = e.getSQLState() == null || e.getSQLState().length() != 5 ? SqlStates.INTERNAL_ERROR
                            : e.getSQLState();
                    return new QueryResult(null, List.of(), ServerError.error(state, e.getMessage()), List.of(), 'I');
                }
            } catch (SQLException e) {
                throw new IllegalStateException("cannot connect to the local PostgreSQL: " + e.getMessage(), e);
            }
        }, executor);
    }

    private static List<ServerError> warnings(SQLWarning w) {
        List<ServerError> out = new ArrayList<>();
        for (; w != null; w = w.getNextWarning()) {
            String state = w.getSQLState() == null || w.getSQLState().length() != 5 ? "01000" : w.getSQLState();
            out.add(ServerError.warning(state, w.getMessage()));
        }
        return out;
    }
}
