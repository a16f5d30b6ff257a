package org.mtm.consensus.internal.resolver;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.mtm.api.Gid;
import org.mtm.consensus.internal.resolver.Knowledge.LocalCopy;
import org.mtm.consensus.internal.resolver.ResolverMessage.Kind;

/**
 * The acceptor desk's rule for a batch of requests (pure): given what one read found for every gid of the batch,
 * handles the requests in arrival order with {@link Acceptor} exactly as one at a time would — a gid asked twice in
 * one batch sees the state its first request left, as its row would read back — and says which states to write, what to answer and which
 * prepared copies to finish. The desk reads once, writes once and commits once per batch, whatever its size.
 */
public final class DeskBatch {

    /** A request to the acceptor from node {@code from}. */
    public record Request(int from, ResolverMessage message) {
    }

    /**
     * @param changed    the final state of every gid a request changed, in lock order: one row each to write
     * @param replies    the answers, in the order of the requests, sent only after the batch committed
     * @param finish     gids decided now whose copy is prepared here
     * @param violations requests refused as protocol violations (nothing changed by them), for the log
     */
    public record Result(Map<Gid, AcceptorState> changed, List<Request> replies, List<Gid> finish, List<String> violations) {
    }

    /** Row lock order of the batch (and of every batch): each gid once, by its text. */
    private static final Comparator<Gid> LOCK_ORDER = Comparator.comparing(Gid::toString);

    private DeskBatch() {
    }

    /** The distinct gids of {@code batch} in lock order: the read locks their rows in this order. */
    public static List<Gid> gids(List<Request> batch) {
        TreeSet<Gid> gids = new TreeSet<>(LOCK_ORDER);
        for (Request r : batch) {
            gids.add(r.message().gid());
        }
        return new ArrayList<>(gids);
    }

    /**
     * Handles {@code batch} in order given {@code read}, what the store showed of every gid before the batch (its
     * state and local copy). The local copy does not change inside the desk's transaction; the state does.
     */
    public static Result decide(List<Request> batch, Map<Gid, Knowledge> read) {
        Map<Gid, AcceptorState> state = new LinkedHashMap<>();
        Map<Gid, AcceptorState> changed = new java.util.TreeMap<>(LOCK_ORDER);
        List<Request> replies = new ArrayList<>();
        List<Gid> finish = new ArrayList<>();
        List<String> violations = new ArrayList<>();
        for (Request r : batch) {
            Gid gid = r.message().gid();
            Knowledge found = read.get(gid);
            if (found == null) {
                throw new IllegalArgumentException("the desk's read did not cover " + gid);
            }
            AcceptorState before = state.getOrDefault(gid, found.state());
            LocalCopy copy = found.copy();
            Acceptor.Answer a;
            try {
                a = Acceptor.answer(r.message(), new Knowledge(before, copy));
            } catch (IllegalStateException violation) {
                violations.add(gid + " from node " + r.from() + ": " + violation.getMessage() + " (state " + before
                    + ", local copy " + copy + ")");
                continue;
            }
            if (!a.next().equals(before)) {
                state.put(gid, a.next().asStored()); // what a request after it would read from the row
                changed.put(gid, a.next());
            }
            if (a.reply() != null) {
                replies.add(new Request(r.from(), a.reply()));
            }
            if (a.next().decided() && copy == LocalCopy.PREPARED) {
                finish.add(gid);
            }
        }
        return new Result(changed, replies, finish, violations);
    }

    /** Whether the request tells this node's coordinator an outcome (a DECIDED). */
    static boolean decides(Request r) {
        return r.message().kind() == Kind.DECIDED;
    }
}
