package org.mtm.admin.internal;

/** JMX view of this node ({@code org.mtm:type=Node}): the columns of {@code mtm.status()} and the role. */
public interface NodeMBean {
    String OBJECT_NAME = "org.mtm:type=Node";

    /** {@code node} or {@code referee}. */
    String getRole();

    String getStatus();

    int getNodeId();

    long getGeneration();

    int[] getGenerationMembers();

    int[] getGenerationMembersOnline();

    int[] getGenerationConfigured();

    /** Nodes connected both ways, this node included (as {@code mtm.status().connected}). */
    int[] getConnectedPeers();
}
