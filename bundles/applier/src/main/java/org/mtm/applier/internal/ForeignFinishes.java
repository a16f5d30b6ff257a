package org.mtm.applier.internal;

import java.util.Iterator;
import java.util.LinkedHashSet;
import org.mtm.api.Gid;

/**
 * Which {@code K}/{@code r} (COMMIT/ROLLBACK PREPARED) of one peer's stream this stream must run here.
 * Pure; one per stream, used by the thread that reads it.
 *
 * <p>The peer's stream carries the finish of every prepared transaction the peer finished, including
 * those it only applied from a third node: pgoutput (PostgreSQL 15) sends an {@code O} origin message
 * before a {@code b} but none before a {@code K} or {@code r}. Such a transaction is applied here from its
 * origin's own stream, which also brings its finish, in the origin's commit order. Running the peer's copy
 * as well would race the origin's receiver for the same gid ("prepared transaction ... is busy") and could
 * commit a transaction ahead of the origin's order. So a finish is run only by the stream the transaction
 * was applied from:
 * <ul>
 * <li>skipped: a finish whose {@code b}…{@code P} this stream skipped as applied from elsewhere, recognised
 *     by the peer's xid, which the {@code K}/{@code r} carries too;</li>
 * <li>skipped: a finish of an {@code MTM-} gid whose origin node is not the peer — decided from the gid
 *     alone, so it also holds after a restart that forgot the skipped xids;</li>
 * <li>run: every other finish. A user's own gid (not {@code MTM-}) applied from this stream is this stream's
 *     to finish. One whose {@code b} came before this stream's start position cannot be told apart any more:
 *     it is run; that is safe, since the peer finished it only after its origin did, and a concurrent finish
 *     of the same gid by the origin's receiver is waited out ({@link ApplySession#commitPrepared}).</li>
 * </ul>
 * This holds for normal mode, where every peer's own stream is received. Recovery from a single donor (all
 * origins through one stream, not built yet) must run every finish of that stream instead.
 */
final class ForeignFinishes {
    /** Skipped xids remembered at most; the oldest are forgotten first (their finish normally came long ago). */
    static final int MAX_REMEMBERED = 100_000;

    private final int peer;
    private final LinkedHashSet<Long> skipped = new LinkedHashSet<>();

    ForeignFinishes(int peer) {
        this.peer = peer;
    }

    /** This stream skipped the {@code b}…{@code P} of the peer's transaction {@code xid}: it was applied from elsewhere. */
    void skippedPrepare(long xid) {
        skipped.add(xid);
        if (skipped.size() > MAX_REMEMBERED) {
            Iterator<Long> oldest = skipped.iterator();
            oldest.next();
            oldest.remove();
        }
    }

    /** True when the {@code K}/{@code r} of {@code gid} (the peer's xid {@code xid}) belongs to another stream. */
    boolean skip(long xid, String gid) {
        if (skipped.remove(xid)) {
            return true;
        }
        if (!Gid.isReserved(gid)) {
            return false;
        }
        try {
            return Gid.parse(gid).originNode() != peer;
        } catch (IllegalArgumentException e) {
            return false; // MTM-… but not a cluster gid: nobody else finishes it
        }
    }

    int remembered() {
        return skipped.size();
    }
}
