package org.mtm.api;

import java.util.Optional;

/**
 * The referee's decision store (2+1 mode): at most one data node holds the grant to work alone; the
 * same node may renew it for a higher generation.
 */
public interface RefereeGrants {

    /** Grants {@code generation} to {@code node}, or refuses because another node holds the grant. */
    Grant request(int node, long generation) throws RefereeGrantRefused, java.sql.SQLException;

    /** Clears grants older than {@code fullGeneration} once both data nodes are online again. */
    void clear(int node, long fullGeneration) throws java.sql.SQLException;

    Optional<Grant> current() throws java.sql.SQLException;

    record Grant(int node, long generation) {
    }

    class RefereeGrantRefused extends Exception {
        private static final long serialVersionUID = 1L;

        public RefereeGrantRefused(Grant held) {
            super("grant was already issued to node " + held.node() + " in generation " + held.generation());
        }
    }
}
