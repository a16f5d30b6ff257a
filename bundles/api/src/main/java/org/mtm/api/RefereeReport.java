package org.mtm.api;

/**
 * A data node's view of its referee (2+1 mode), from its last look at the referee's PostgreSQL.
 *
 * @param conninfo   {@code referee_connstring}, password hidden
 * @param reachable  the last request or probe (every second) reached the referee
 * @param grantNode  the node holding the grant at that look, 0 for none or unknown
 * @param grantGen   the generation it was granted for, 0 for none or unknown
 * @param problem    why the referee could not be reached, empty when it could
 */
public record RefereeReport(String conninfo, boolean reachable, int grantNode, long grantGen, String problem) {

    /** For {@code mtm:status} and logs. */
    public String describe() {
        return conninfo + (reachable ? " reachable, grant: " + (grantNode == 0 ? "none"
            : "node " + grantNode + " in generation " + grantGen) : " unreachable: " + problem);
    }
}
