package org.mtm.consensus.internal.resolver;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.resolver.Effect.Decided;
import org.mtm.consensus.internal.resolver.Effect.Send;
import org.mtm.consensus.internal.resolver.ResolverMessage.Kind;

/**
 * This node's resolver rounds, one per in-doubt transaction it resolves. Pure and single-threaded: inputs are
 * requests to resolve, answers from acceptors (this node's own included) and clock ticks; outputs are
 * {@link Effect}s. Messages may be lost, duplicated or reordered: a round that has not decided within
 * {@code retryMs} (plus a random part, so that two resolvers do not keep beating each other) re-sends to whoever
 * has not answered, and a beaten round starts again above the highest term seen.
 */
public final class Proposer {

    private final int self;
    private final long retryMs;
    private final Random random;
    private final Map<Gid, Pending> pending = new HashMap<>();

    private static final class Pending {
        final NodeSet voters;
        ResolverRound round;
        long nextTry;
        /** Rounds beaten in a row: each waits twice as long before the next (up to 16 times). */
        int beaten;

        Pending(NodeSet voters) {
            this.voters = voters;
        }
    }

    /**
     * @param self    this node's id (the node part of its terms)
     * @param retryMs how long a round waits for answers before re-sending or starting again
     * @param random  jitter of the retries (seeded in simulations)
     */
    public Proposer(int self, long retryMs, Random random) {
        this.self = self;
        this.retryMs = retryMs;
        this.random = random;
    }

    public boolean resolving(Gid gid) {
        return pending.containsKey(gid);
    }

    public int size() {
        return pending.size();
    }

    /**
     * Starts resolving {@code gid} among {@code voters} (its generation's configured nodes) unless already under
     * way, in a term above {@code seen} (the highest term this node knows for it: its own promise).
     */
    public List<Effect> resolve(Gid gid, NodeSet voters, Term seen, long now) {
        List<Effect> out = new ArrayList<>();
        if (pending.containsKey(gid)) {
            return out;
        }
        Pending p = new Pending(voters);
        pending.put(gid, p);
        startRound(gid, p, Term.above(seen, self), now, out);
        return out;
    }

    /** Stops resolving {@code gid} (its outcome became known another way). */
    public void forget(Gid gid) {
        pending.remove(gid);
    }

    /** An acceptor's answer, or another node's DECIDED. */
    public List<Effect> onMessage(int from, ResolverMessage m, long now) {
        List<Effect> out = new ArrayList<>();
        Pending p = pending.get(m.gid());
        if (p == null) {
            return out;
        }
        ResolverRound r = p.round;
        ResolverRound.Phase before = r.phase();
        ResolverRound.Phase after;
        if (m.kind() == Kind.DECIDED) {
            after = r.onDecided(m.known());
        } else if (!m.term().equals(r.term())) {
            return out; // an answer to an earlier round of ours
        } else if (m.kind() == Kind.PROMISE) {
            after = r.onPromise(from, m.granted(), m.promise(), m.accepted(), m.value(), m.known());
        } else if (m.kind() == Kind.ACCEPTED) {
            after = r.onAccepted(from, m.granted(), m.promise(), m.known());
        } else {
            return out;
        }
        if (after == ResolverRound.Phase.DECIDED) {
            pending.remove(m.gid());
            out.add(new Decided(m.gid(), r.outcome()));
            if (m.kind() != Kind.DECIDED) {
                broadcast(p.voters, ResolverMessage.decided(m.gid(), r.outcome()), out);
            }
        } else if (after == ResolverRound.Phase.ACCEPTING && before == ResolverRound.Phase.PROMISING) {
            broadcast(p.voters, ResolverMessage.accept(m.gid(), r.term(), r.value()), out);
            p.nextTry = now + delay();
        } else if (after == ResolverRound.Phase.BEATEN) {
            p.beaten = Math.min(p.beaten + 1, 4);
            p.nextTry = now + (delay() << p.beaten); // not at once: let the higher term's resolver finish first
        }
        return out;
    }

    /** Re-sends or restarts rounds that waited too long. */
    public List<Effect> tick(long now) {
        List<Effect> out = new ArrayList<>();
        for (Map.Entry<Gid, Pending> e : pending.entrySet()) {
            Pending p = e.getValue();
            if (now < p.nextTry) {
                continue;
            }
            ResolverRound r = p.round;
            if (r.phase() == ResolverRound.Phase.BEATEN) {
                startRound(e.getKey(), p, Term.above(r.highestSeen(), self), now, out);
            } else {
                // answers may be lost: ask again whoever has not answered (acceptors answer requests idempotently)
                ResolverMessage again = r.phase() == ResolverRound.Phase.PROMISING
                    ? ResolverMessage.propose(e.getKey(), r.term())
                    : ResolverMessage.accept(e.getKey(), r.term(), r.value());
                for (int voter : r.awaiting().ids()) {
                    out.add(new Send(voter, again));
                }
                p.nextTry = now + delay();
            }
        }
        return out;
    }

    private void startRound(Gid gid, Pending p, Term term, long now, List<Effect> out) {
        p.round = new ResolverRound(p.voters, term);
        p.nextTry = now + delay();
        broadcast(p.voters, ResolverMessage.propose(gid, term), out);
    }

    private static void broadcast(NodeSet voters, ResolverMessage m, List<Effect> out) {
        for (int voter : voters.ids()) {
            out.add(new Send(voter, m));
        }
    }

    private long delay() {
        return retryMs + (long) (random.nextDouble() * retryMs);
    }
}
