package org.mtm.itests.harness;

/**
 * One write a client attempted: a bank transfer or an autocommit insert with a unique {@code id}, through the gateway
 * of node {@code gateway}, started {@code atMillis} after the load began, finished {@code millis} later with
 * {@code outcome} (and the SQLSTATE and message of a failure).
 */
public record Attempt(Kind kind, long id, int gateway, String client, ClientOutcome outcome, String sqlState, String message,
                      long atMillis, long millis) {
    public enum Kind { TRANSFER, INSERT }

    @Override
    public String toString() {
        return kind.name().toLowerCase() + " " + id + " via node" + gateway + "'s gateway (" + client + ", t=" + atMillis + " ms, "
            + millis + " ms): client saw " + outcome + (sqlState == null && message == null ? "" : " " + sqlState + " " + message);
    }
}
