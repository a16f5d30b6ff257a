package org.mtm.admin.internal.check;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * When snapshots taken on the nodes form one consistent point: every node of the generation held its commits until
 * the commits it had begun were done everywhere (the hold), and each snapshot was taken during that hold on a node
 * with no prepared distributed transaction (a copy still waiting for its COMMIT PREPARED would be committed on some
 * nodes' snapshots and not on others' — possible with {@code wait_peer_commits = false}, or for a transaction in
 * doubt). Pure.
 */
public final class SnapshotPoint {
    private SnapshotPoint() {
    }

    /**
     * @param held     the nodes that held their commits
     * @param prepared by node whose snapshot was taken during the hold: its prepared MTM- transactions at that moment
     * @return null when the snapshots are one consistent point, otherwise why not
     */
    public static String inconsistency(Set<Integer> held, Map<Integer, Long> prepared) {
        if (!held.equals(prepared.keySet())) {
            return "the nodes holding their commits " + new java.util.TreeSet<>(held) + " are not those with a snapshot "
                + new java.util.TreeSet<>(prepared.keySet()) + " (the generation changed meanwhile)";
        }
        Map<Integer, Long> busy = new TreeMap<>();
        prepared.forEach((node, n) -> {
            if (n > 0) {
                busy.put(node, n);
            }
        });
        if (busy.isEmpty()) {
            return null;
        }
        StringBuilder b = new StringBuilder();
        busy.forEach((node, n) -> b.append(b.length() == 0 ? "" : ", ").append("node ").append(node).append(" had ").append(n)
            .append(" prepared distributed transaction(s)"));
        return b + " at its snapshot (a commit not finished on every node, or one in doubt: see mtm.in_doubt)";
    }
}
