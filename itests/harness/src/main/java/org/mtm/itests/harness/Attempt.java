package org.mtm.itests.harness;

/**
 * One write a client attempted: a bank transfer or an autocommit insert with a unique {@code id}, through the gateway
 * of node {@code gateway}, started {@code atMillis} after the load began, finished {@code millis} later with
 * {@code outcome} (and the SQLSTATE and message of a failure). {@code xid}: its transaction id on the gateway's node
 * when the client learnt it (null otherwise), which names its global transaction {@code MTM-<gateway>-<xid>-<gen>}.
 */
public record Attempt(Kind kind, long id, int gateway, String client, String xid, ClientOutcome outcome, String sqlState,
                      String message, long atMillis, long millis) {
    public enum Kind { TRANSFER, INSERT }

    /**
     * When the client learnt the outcome, in milliseconds of the load's clock: for an acknowledged write, the time
     * its gateway acknowledged it.
     */
    public long endMillis() {
        return atMillis + millis;
    }

    /** The prefix of the gid of this write's transaction, or null when its xid is unknown. */
    public String gidPrefix() {
        return xid == null ? null : "MTM-" + gateway + "-" + xid + "-";
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase() + " " + id + " via node" + gateway + "'s gateway (" + client + ", xid " + xid + ", t="
            + atMillis + " ms, " + millis + " ms): client saw " + outcome + (sqlState == null && message == null ? "" : " " + sqlState + " " + message);
    }
}
