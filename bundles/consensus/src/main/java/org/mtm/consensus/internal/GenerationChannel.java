package org.mtm.consensus.internal;

import org.mtm.api.Channels;
import org.mtm.api.PeerMessageHandler;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** Receives {@link Channels#GENERATION} messages (a handler serves one channel) for the cluster state service. */
@Component(immediate = true, service = PeerMessageHandler.class,
    property = PeerMessageHandler.CHANNEL_PROPERTY + ":Integer=" + Channels.GENERATION)
public final class GenerationChannel implements PeerMessageHandler {
    private final GenerationInbox inbox;

    @Activate
    public GenerationChannel(@Reference(name = "inbox") GenerationInbox inbox) {
        this.inbox = inbox;
    }

    @Override
    public void onMessage(int fromNode, byte[] payload) {
        inbox.onGenerationMessage(fromNode, payload);
    }
}
