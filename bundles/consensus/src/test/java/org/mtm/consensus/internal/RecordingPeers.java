package org.mtm.consensus.internal;

import java.util.ArrayList;
import java.util.List;
import org.mtm.api.Channels;
import org.mtm.api.CommitMessage;

/**
 * {@link CoordinatorFixtures#SILENT_PEERS}' peers 2 and 3 that also record each commit message sent to them as
 * {@code "<KIND> <gid> to <peer>"}, in order (a broadcast as one send to each). Read {@link #sent} holding this
 * object's lock.
 */
final class RecordingPeers extends CoordinatorFixtures.SilentPeers {
    final List<String> sent = new ArrayList<>();

    @Override
    public synchronized boolean send(int peer, int channel, byte[] payload) {
        if (channel == Channels.COMMIT) {
            CommitMessage m = CommitMessage.decode(payload);
            sent.add(m.kind() + " " + m.gid() + " to " + peer);
        }
        return true;
    }
}
