package org.mtm.applier.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.mtm.api.CommitMessage;
import org.mtm.api.CommitMessage.Kind;
import org.mtm.api.CrashPoints;
import org.mtm.api.CrashPoints.Point;
import org.mtm.api.Gid;
import org.mtm.api.LocalDatabase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits this node's prepared copy of a peer's transaction when the coordinator's COMMIT decision arrives over the
 * transport, rather than when the origin's stream brings its {@code K} — which comes only after the origin's own
 * COMMIT PREPARED was flushed and decoded, and then waits behind everything before it in the stream. The decision is
 * final when it is sent (a majority accepted the precommit, DESIGN §2 step 4; the resolver would decide commit too),
 * so committing the copy then is what the stream would do, only sooner; the COMMITTED acknowledgement goes at once.
 *
 * <p>A few threads with a connection each. {@link EarlyFinishes} lets exactly one of this and the stream run each
 * COMMIT PREPARED; a decision that finds the pool full is simply left to the stream. Commits of one origin's
 * concurrent transactions may end here in another order than on the origin: they were prepared together, so they
 * touch different rows, and the stream's {@code K} of each still waits for its early commit before anything later
 * in the stream is applied.
 */
final class EarlyCommitter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EarlyCommitter.class);
    static final int THREADS = 2;
    /** Decisions waiting for a thread; beyond that the stream commits them. */
    static final int QUEUE = 1024;

    private final LocalDatabase database;
    private final VoteSender votes;
    private final EarlyFinishes finishes;
    private final ThreadPoolExecutor pool;
    private final ConcurrentLinkedQueue<Connection> opened = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<Connection> connection = new ThreadLocal<>();

    EarlyCommitter(LocalDatabase database, VoteSender votes, EarlyFinishes finishes) {
        this.database = database;
        this.votes = votes;
        this.finishes = finishes;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(THREADS, THREADS, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(QUEUE), r -> {
            Thread t = new Thread(r, "mtm-early-commit-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    EarlyFinishes finishes() {
        return finishes;
    }

    /** Nothing queued or running (tests). */
    boolean idle() {
        return pool.getQueue().isEmpty() && pool.getActiveCount() == 0;
    }

    /** The coordinator of {@code gid} decided to commit it (any thread; never waits). */
    void commitDecided(Gid gid) {
        try {
            pool.execute(() -> commit(gid));
        } catch (RejectedExecutionException full) {
            LOG.debug("early commit of {} not queued (pool full or stopping): its stream commits it", gid);
        }
    }

    private void commit(Gid gid) {
        String g = gid.toString();
        CompletableFuture<Boolean> claim = finishes.claimEarly(g, System.nanoTime());
        if (claim == null) {
            return; // the stream has it
        }
        boolean done = false;
        try {
            CrashPoints.reach(Point.PEER_BEFORE_COMMIT_PREPARED, g); // test-only
            done = commitPrepared(g);
        } finally {
            claim.complete(done);
        }
        if (done) {
            CrashPoints.reach(Point.PEER_AFTER_COMMIT_PREPARED, g); // test-only
            votes.send(gid.originNode(), CommitMessage.of(Kind.COMMITTED, gid));
        }
    }

    /** True when committed here; false when not prepared here, busy, or PostgreSQL could not be reached (the stream then does it). */
    private boolean commitPrepared(String gid) {
        try {
            Connection c = connection.get();
            if (c == null) {
                c = database.connect();
                c.setAutoCommit(true);
                connection.set(c);
                opened.add(c);
            }
            try (Statement st = c.createStatement()) {
                st.execute("COMMIT PREPARED " + Sql.quoteLiteral(gid));
            }
            return true;
        } catch (SQLException e) {
            // 42704: not prepared here (finished already); 55000: someone finishes it right now
            if (!"42704".equals(e.getSQLState()) && !"55000".equals(e.getSQLState())) {
                LOG.debug("early COMMIT PREPARED {} failed, left to the stream: {}", gid, e.toString());
                Connection c = connection.get();
                connection.remove();
                if (c != null) {
                    opened.remove(c);
                    closeQuietly(c);
                }
            }
            return false;
        }
    }

    /** Lets queued commits finish for a moment, then closes the connections. */
    @Override
    public void close() {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(5, TimeUnit.SECONDS)) {
                pool.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pool.shutdownNow();
        }
        for (Connection c; (c = opened.poll()) != null; ) {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // closing
        }
    }
}
