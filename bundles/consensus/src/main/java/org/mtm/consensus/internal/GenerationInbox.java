package org.mtm.consensus.internal;

/** Where {@link GenerationChannel} hands the generation protocol's messages (the node's cluster state service). */
public interface GenerationInbox {
    void onGenerationMessage(int fromNode, byte[] payload);
}
