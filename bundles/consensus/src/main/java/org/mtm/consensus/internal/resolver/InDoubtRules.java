package org.mtm.consensus.internal.resolver;

import org.mtm.api.Gid;
import org.mtm.api.NodeSet;

/**
 * Which of this node's prepared copies its resolver takes up (DESIGN §3, the original's "orphaned"
 * transactions). Pure.
 */
public final class InDoubtRules {

    private InDoubtRules() {
    }

    /** What to do about one prepared copy. */
    public enum Action {
        /** Its outcome is known here: finish the copy. */
        FINISH,
        /** Nobody is deciding it: run a resolver round. */
        RESOLVE,
        /** Its coordinator is at work on it (or no majority can be reached from here now): leave it. */
        WAIT
    }

    /**
     * @param gid           the prepared copy
     * @param self          this node
     * @param coordinating  this node's live coordinator is committing it (it asks the resolver itself when in doubt)
     * @param known         the outcome recorded here, or null
     * @param reachable     the peers this node hears now
     * @param voters        the configured nodes of the transaction's generation
     * @param preparedForMs how long the copy has been prepared here
     * @param patienceMs    how long a copy whose coordinator is reachable may stay prepared before this node asks
     */
    public static Action action(Gid gid, int self, boolean coordinating, Outcome known, NodeSet reachable,
                                NodeSet voters, long preparedForMs, long patienceMs) {
        if (coordinating) {
            return Action.WAIT;
        }
        if (known != null) {
            return Action.FINISH;
        }
        if (!reachable.with(self).intersect(voters).isMajorityOf(voters)) {
            return Action.WAIT; // no round can finish; the copy keeps its locks until a majority is connected again
        }
        int coordinator = gid.originNode();
        boolean silentCoordinator = coordinator != self && reachable.contains(coordinator) && preparedForMs > patienceMs;
        if (silentCoordinator) {
            // its coordinator is there but never finished this copy: it has forgotten it (e.g. its own copy was rolled
            // back while this node recovered it from a donor), and only the nodes holding a copy know of it — each of
            // them asks (Paxos keeps several proposers safe; they back off when beaten)
            return Action.RESOLVE;
        }
        boolean orphaned = coordinator == self // left by an earlier run of this node's coordinator
            || !reachable.contains(coordinator); // its coordinator is gone
        // one resolver at a time where possible (Paxos is safe with several, but they can keep beating each other):
        // the lowest-numbered connected voter; anyone after long
        if (orphaned && preparedForMs <= 3 * patienceMs) {
            int preferred = reachable.with(self).contains(coordinator) ? coordinator
                : reachable.with(self).intersect(voters).ids().get(0);
            orphaned = preferred == self;
        }
        return orphaned ? Action.RESOLVE : Action.WAIT;
    }
}
