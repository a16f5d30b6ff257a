package org.mtm.referee.internal;

import java.util.Optional;
import org.mtm.api.RefereeGrants.Grant;

/**
 * Who may hold the referee grant (DESIGN §3, the original's {@code referee.request_grant}). Pure; the referee's
 * SQL function {@code mtm.referee_request_grant} implements the same rules inside its PostgreSQL (checked against
 * this class by {@code RefereeGrantStoreTest}).
 *
 * <p>A grant {@code (node, gen)} lets {@code node} form generation {@code gen} with itself alone. At most one node
 * holds it; the same node may renew it for a higher generation. A grant is obsolete once some data node is online in
 * a full generation (both data nodes) numbered above it: that generation was elected with the holder's vote, and the
 * node online in it recovered from the holder's marker of it (or was its donor), so the holder has moved past the
 * granted generation for good. Only then may the other node be granted.
 */
public final class GrantRules {

    private GrantRules() {
    }

    /**
     * The grant the referee keeps after {@code node} asked for generation {@code generation}; the request is granted
     * when the result is exactly {@code (node, generation)}.
     *
     * @param fullGeneration the full generation the applicant is online in, 0 if none: grants below it are obsolete
     */
    public static Optional<Grant> decide(Optional<Grant> held, int node, long generation, long fullGeneration) {
        Optional<Grant> live = held.filter(h -> !obsolete(h, fullGeneration));
        if (live.isEmpty()) {
            return Optional.of(new Grant(node, generation));
        }
        Grant h = live.get();
        if (h.node() != node || generation < h.generation()) {
            return live; // refused: another node holds it, or a stale request of the holder
        }
        return Optional.of(new Grant(node, generation));
    }

    /** True when the request {@code (node, generation)} was granted by {@link #decide}. */
    public static boolean granted(Optional<Grant> after, int node, long generation) {
        return after.equals(Optional.of(new Grant(node, generation)));
    }

    /** True when {@code held} no longer protects anything once a node is online in full generation {@code fullGen}. */
    public static boolean obsolete(Grant held, long fullGeneration) {
        return held.generation() < fullGeneration;
    }

    /**
     * True when {@code held} is to be dropped at the request of {@code node}, online in full generation
     * {@code fullGeneration}, whose highest vote is {@code lastVote} and which runs no election: an obsolete grant,
     * or one of its own it never used — a grant whose answer came too late for its election (or never came), for a
     * generation above its current one and at most its last vote. It never adopts that generation: its elections
     * for it are over, and a later one asks for a higher number.
     */
    public static boolean cleared(Grant held, long fullGeneration, int node, long lastVote) {
        return obsolete(held, fullGeneration) || (held.node() == node && held.generation() <= lastVote);
    }
}
