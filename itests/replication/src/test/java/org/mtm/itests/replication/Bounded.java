package org.mtm.itests.replication;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs client work with a time bound, so that a commit that hangs fails its test in bounded time instead of
 * holding the suite for the product's own timeout: past the bound the client connection is aborted (the client
 * gives up, as a real one would) and the test fails saying what did not finish.
 */
final class Bounded {
    interface SqlWork<T> {
        T run() throws SQLException;
    }

    private Bounded() {
    }

    static <T> T within(Duration bound, String what, Connection connection, SqlWork<T> work) throws SQLException {
        ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "bounded-client");
            t.setDaemon(true);
            return t;
        });
        long start = System.nanoTime();
        try {
            Future<T> result = runner.submit(work::run);
            try {
                return result.get(bound.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                connection.abort(Runnable::run);
                throw new AssertionError(what + " did not finish within " + bound.toSeconds() + " s; the client gave up and closed "
                    + "its connection");
            } catch (ExecutionException e) {
                if (e.getCause() instanceof SQLException sql) {
                    sql.addSuppressed(new IllegalStateException(what + " failed after " + TestCluster.millisSince(start) + " ms"));
                    throw sql;
                }
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw new AssertionError(what + " failed", e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        } finally {
            runner.shutdownNow();
        }
    }
}
