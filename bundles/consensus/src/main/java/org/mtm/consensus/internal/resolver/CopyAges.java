package org.mtm.consensus.internal.resolver;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.mtm.api.Gid;

/**
 * How long each prepared copy has been in this resolver's care: from the later of its PREPARE and the moment this
 * resolver first saw it. A node made from a base backup holds its source's prepared copies with the source's PREPARE
 * times, often past the resolver's patience by the time it joins; its catch-up, which finishes them from the donor's
 * stream, gets the full patience first. So does a restarted node's stream. Pure; one thread (the resolver's).
 */
final class CopyAges {
    private final Map<Gid, Long> firstSeen = new HashMap<>();
    private final Set<Gid> seenThisScan = new HashSet<>();

    /** The age of {@code gid} at {@code nowMs}, prepared {@code preparedForMs} ago by PostgreSQL's clock. */
    long age(Gid gid, long preparedForMs, long nowMs) {
        seenThisScan.add(gid);
        long first = firstSeen.computeIfAbsent(gid, g -> nowMs);
        return Math.min(preparedForMs, nowMs - first);
    }

    /**
     * The copy's coordinator says it is still at work on it ({@code CommitMessage.Kind.COORDINATING}): its age starts
     * again from {@code nowMs}, so the silent-coordinator rule ({@link InDoubtRules}) waits another patience.
     */
    void refresh(Gid gid, long nowMs) {
        firstSeen.put(gid, nowMs);
    }

    /** Ends a scan: copies not seen in it are finished and forgotten. */
    void endScan() {
        firstSeen.keySet().retainAll(seenThisScan);
        seenThisScan.clear();
    }

    int size() {
        return firstSeen.size();
    }
}
