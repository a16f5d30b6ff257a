package org.mtm.consensus.internal;

import java.util.ArrayList;
import java.util.List;
import org.mtm.api.Gid;
import org.mtm.api.NodeSet;
import org.mtm.consensus.internal.resolver.InDoubtResolver;

/** A resolver whose acceptors never answer: records what the coordinator asked of it. */
final class SilentResolver implements InDoubtResolver {
    final List<Gid> precommitsRequested = new ArrayList<>();
    final List<Gid> resolutionsRequested = new ArrayList<>();
    final List<Gid> coordinatorsAtWork = new ArrayList<>();
    volatile Coordination coordination;

    @Override
    public void attach(Coordination c) {
        coordination = c;
    }

    @Override
    public void detach(Coordination c) {
        if (coordination == c) {
            coordination = null;
        }
    }

    @Override
    public synchronized void requestPrecommit(Gid gid, NodeSet voters) {
        precommitsRequested.add(gid);
    }

    @Override
    public synchronized void resolve(Gid gid, NodeSet voters) {
        resolutionsRequested.add(gid);
    }

    @Override
    public synchronized void coordinatorAtWork(Gid gid) {
        coordinatorsAtWork.add(gid);
    }
}
