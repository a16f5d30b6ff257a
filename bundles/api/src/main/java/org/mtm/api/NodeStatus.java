package org.mtm.api;

/** The status of a node as {@code mtm.status()} reports it (manual F.31.5.2). */
public enum NodeStatus {
    /** Member of the current generation, caught up, accepting transactions. */
    ONLINE,
    /** Member of the current generation that must first apply older generations' transactions from a donor. */
    RECOVERY,
    /** Not a member; pulling changes from a donor. */
    CATCHUP,
    /** Not a member and no donor known yet (also: cluster not initialised). */
    DISABLED,
    /** Its clique does not cover all members of the generation, or an election is under way. */
    ISOLATED;

    /** The lower-case word the manual prints. */
    public String sqlName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
