package org.mtm.applier.internal;

import com.codahale.metrics.Meter;
import org.mtm.applier.internal.pgoutput.PgOutputMessage;

/**
 * How far a normal receiver is behind its peer: the bytes of the peer's WAL from the end of the last transaction applied
 * here to the end of the last one received (a transaction counts once its end — COMMIT, PREPARE, COMMIT/ROLLBACK
 * PREPARED — has arrived; parallel workers may still be applying it), and for how long the receiver has been behind
 * (0 when it has applied everything it received). The peer's WAL not sent yet is not seen here. Written by the
 * receiver's thread, read by the metrics' gauges.
 */
final class ApplyLag {
    private volatile long received;
    private volatile long applied;
    /** System.nanoTime() when it last fell behind; meaningful only while received > applied. */
    private volatile long behindSince;
    private volatile Meter transactions;

    /** Counts the peer's committed transactions here (mtm.apply.transactions). */
    void countTo(Meter meter) {
        transactions = meter;
    }

    /** A message of the peer's stream arrived: a transaction's end moves what was received. */
    void received(PgOutputMessage m, long nowNanos) {
        long end = unitEnd(m);
        if (end > received) {
            if (received <= applied) {
                behindSince = nowNanos;
            }
            received = end;
        }
    }

    /** The end of a transaction applied here (the applier's finished position), or of one found already applied. */
    void applied(long lsn) {
        if (lsn > applied) {
            applied = lsn;
        }
    }

    /** A transaction of the peer committed here (COMMIT, COMMIT PREPARED, stream commit handled). */
    void committed(PgOutputMessage m) {
        Meter t = transactions;
        if (t != null && (m instanceof PgOutputMessage.Commit || m instanceof PgOutputMessage.CommitPrepared
            || m instanceof PgOutputMessage.StreamCommit)) {
            t.mark();
        }
    }

    long bytes() {
        return Math.max(0, received - applied);
    }

    double seconds(long nowNanos) {
        return received > applied ? (nowNanos - behindSince) / 1e9 : 0;
    }

    /** Where a transaction's last message ends in the peer's WAL; 0 for the other messages. */
    static long unitEnd(PgOutputMessage m) {
        if (m instanceof PgOutputMessage.Commit c) {
            return c.endLsn();
        } else if (m instanceof PgOutputMessage.Prepare p) {
            return p.endLsn();
        } else if (m instanceof PgOutputMessage.CommitPrepared c) {
            return c.endLsn();
        } else if (m instanceof PgOutputMessage.RollbackPrepared r) {
            return r.rollbackEndLsn();
        } else if (m instanceof PgOutputMessage.StreamCommit c) {
            return c.endLsn();
        } else if (m instanceof PgOutputMessage.StreamPrepare p) {
            return p.endLsn();
        }
        return 0;
    }
}
