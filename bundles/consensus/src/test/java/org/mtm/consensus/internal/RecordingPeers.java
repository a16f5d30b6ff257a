package org.mtm.consensus.internal;

import java.util.ArrayList;
import java.util.List;
import org.mtm.api.Channels;
import org.mtm.api.CommitMessage;
import org.mtm.api.NodeSet;
import org.mtm.api.Transport;

/**
 * Peers 2 and 3, reachable and linked, that answer nothing: records each commit message sent to them as
 * {@code "<KIND> <gid> to <peer>"}, in order. Read {@link #sent} holding this object's lock.
 */
final class RecordingPeers implements Transport {
    final List<String> sent = new ArrayList<>();

    @Override
    public NodeSet reachablePeers() {
        return NodeSet.of(2, 3);
    }

    @Override
    public NodeSet linkedPeers() {
        return NodeSet.of(2, 3);
    }

    @Override
    public synchronized boolean send(int peer, int channel, byte[] payload) {
        if (channel == Channels.COMMIT) {
            CommitMessage m = CommitMessage.decode(payload);
            sent.add(m.kind() + " " + m.gid() + " to " + peer);
        }
        return true;
    }

    @Override
    public NodeSet broadcast(int channel, byte[] payload) {
        send(2, channel, payload);
        send(3, channel, payload);
        return NodeSet.of(2, 3);
    }
}
