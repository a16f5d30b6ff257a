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
 *     node decides the same way from the two gids alone: the transaction with the higher {@link #priority}
 *     loses. That is a total order, so in any set of conflicting transactions the first one wins on every
 *     node; cycles the lock watch cannot see (a wait for a session that is not prepared yet) still end at
 *     the lock bound.</li>
 * </ul>
 * The order is a mix of the whole gid, not the origin xid: each node counts xids on its own, so the nodes'
 * counters drift apart and an xid order let the node with the lowest counter win nearly every conflict —
 * and a retried transaction gets a new xid anyway, so xid age never protected it from starving. With the
 * mix every transaction, and every retry, has the same chance.
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
                int byPriority = Long.compareUnsigned(priority(w), priority(h));
                if (byPriority != 0) {
                    return byPriority > 0;
                }
                int byXid = Long.compare(w.originXid(), h.originXid());
                return byXid != 0 ? byXid > 0 : w.originNode() > h.originNode();
        }
    }

    /**
     * Smart's order as a total order of any two gids, for the victim of a cycle ({@link WaitsFor}): true when
     * {@code a} comes after {@code b} (it gives way). Gids that are not the cluster's (a user's prepared transaction)
     * come first: they never wait, so they are never a victim.
     */
    static boolean after(String a, String b) {
        Gid x = parse(a, null);
        Gid y = parse(b, null);
        if (x == null || y == null) {
            return x != null || y == null && a.compareTo(b) > 0;
        }
        int c = Long.compareUnsigned(priority(x), priority(y));
        if (c == 0) {
            c = Long.compare(x.originXid(), y.originXid());
        }
        if (c == 0) {
            c = Integer.compare(x.originNode(), y.originNode());
        }
        return c != 0 ? c > 0 : a.compareTo(b) > 0;
    }

    /** The rank of a transaction in smart's order (lower wins): a 64-bit mix of its gid, the same on every node. */
    static long priority(Gid gid) {
        long z = gid.originXid() * 0x9E3779B97F4A7C15L + gid.originNode() * 0xC2B2AE3D27D4EB4FL + gid.generation();
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L; // splitmix64 finaliser
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
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
