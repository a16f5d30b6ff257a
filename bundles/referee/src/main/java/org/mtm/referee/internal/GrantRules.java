package org.mtm.referee.internal;

import java.util.Optional;
import org.mtm.api.RefereeGrants.Grant;

/**
 * Who may hold the referee grant (DESIGN §3, the original's {@code referee.request_grant}): the first
 * applicant gets it; afterwards only the same node, for a higher or equal generation. Pure.
 */
public final class GrantRules {

    private GrantRules() {
    }

    /** The grant to store, or empty when the request must be refused because another node holds it. */
    public static Optional<Grant> decide(Optional<Grant> held, int node, long generation) {
        if (held.isEmpty()) {
            return Optional.of(new Grant(node, generation));
        }
        Grant h = held.get();
        if (h.node() != node) {
            return Optional.empty();
        }
        return Optional.of(generation > h.generation() ? new Grant(node, generation) : h);
    }

    /** True when a stored grant is to be dropped once {@code node} is online in full generation {@code fullGen}. */
    public static boolean cleared(Grant held, int node, long fullGeneration) {
        return held.generation() < fullGeneration || (held.node() == node && held.generation() <= fullGeneration);
    }
}
