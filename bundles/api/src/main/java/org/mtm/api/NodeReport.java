package org.mtm.api;

/** One row of {@code mtm.nodes()} (manual F.31.5.2), column for column; null pids print empty. */
public record NodeReport(int id, String conninfo, boolean isSelf, boolean enabled, boolean connected,
                         Integer senderPid, Integer receiverPid, int nWorkers, ReceiverMode receiverMode) {
}
