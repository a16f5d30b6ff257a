package org.mtm.applier.internal;

import java.util.Locale;
import java.util.Optional;
import org.mtm.api.Gid;

/**
 * {@code multimaster.deadlock_prevention}: what an apply does when it waits for a lock held by a prepared
 * transaction — typically another origin's transaction that is itself waiting, on its origin, for a vote
 * that depends on ours (a cycle no single server can see).
 * <ul>
 * <li>{@link #OFF}: nothing more than the lock bound every apply has (then a no-vote with 40P01);</li>
 * <li>{@link #SIMPLE}: the waiting transaction is voted down at once;</li>
 * <li>{@link #SMART}: of the two, a deterministic loser is voted down and the winner keeps waiting, so
 *     one of two transactions that conflict across two nodes commits instead of both aborting. Every
 *     node decides the same way from the two gids alone: the transaction with the higher (origin xid,
 *     origin node) loses. Cycles through three or more nodes may still end at the lock bound.</li>
 * </ul>
 */
enum DeadlockPrevention {
    OFF, SIMPLE, SMART;

    static Optional<DeadlockPrevention> parse(String value) {
        try {
            return Optional.of(valueOf(value.strip().toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException | NullPointerException e) {
            return Optional.empty();
        }
    }

    /**
     * Should the apply of {@code waiter} give up now, given that it waits for a lock held by the prepared
     * transaction {@code holder}? Pure: both nodes of a two-node cycle reach opposite answers.
     */
    boolean abortWaiter(String waiter, String holder) {
        switch (this) {
            case OFF:
                return false;
            case SIMPLE:
                return true;
            default:
                Gid w = parse(waiter, null);
                Gid h = parse(holder, null);
                if (h == null) {
                    return true; // a user's prepared transaction may stay for long: do not wait for it
                }
                if (w == null || w.originNode() == h.originNode()) {
                    return false; // one origin's concurrent transactions do not conflict; wait up to the bound
                }
                int byXid = Long.compare(w.originXid(), h.originXid());
                return byXid != 0 ? byXid > 0 : w.originNode() > h.originNode();
        }
    }

    private static Gid parse(String gid, Gid otherwise) {
        if (gid == null || !Gid.isReserved(gid)) {
            return otherwise;
        }
        try {
            return Gid.parse(gid);
        } catch (IllegalArgumentException e) {
            return otherwise;
        }
    }

    String sqlName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
