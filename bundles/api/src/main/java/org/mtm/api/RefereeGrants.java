package org.mtm.api;

import java.util.Optional;

/**
 * The referee's decision store (2+1 mode): at most one data node holds the grant to work alone; the
 * same node may renew it for a higher generation. Data nodes reach it through the referee's PostgreSQL
 * ({@code referee_connstring}, functions {@code mtm.referee_request_grant} / {@code mtm.referee_clear_grant}).
 */
public interface RefereeGrants {

    /**
     * Grants {@code generation} to {@code node}, or refuses because another node holds the grant.
     *
     * @param fullGeneration the generation of both data nodes the applicant is online in, 0 if none: grants below
     *                       it are obsolete and give way
     */
    Grant request(int node, long generation, long fullGeneration) throws RefereeGrantRefused, java.sql.SQLException;

    /**
     * Clears a grant older than {@code fullGeneration}, a generation of both data nodes {@code node} is online in, or
     * one of {@code node}'s own at most {@code lastVote} that it never used (it runs no election).
     */
    void clear(long fullGeneration, int node, long lastVote) throws java.sql.SQLException;

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
