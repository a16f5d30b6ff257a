package org.mtm.api;

/** One row of {@code mtm.status()} (manual F.31.5.2), column for column. */
public record StatusReport(int myNodeId, NodeStatus status, NodeSet connected, long genNum, NodeSet genMembers,
                           NodeSet genMembersOnline, NodeSet genConfigured) {
}
