package org.mtm.admin.internal.check;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.stream.Collectors;

/**
 * Compares the results of one query on every node (manual F.31.4.6): the nodes whose result differs from that of the
 * most nodes (on a tie, the group with the lowest node id), and the first difference in the manual's words, e.g.
 * {@code mismatch in column 'b' of row 0: 256 on node1, 255 on node2}. Pure.
 */
public final class ResultComparison {

    /** {@code differing}: nodes whose result is not the reference's; {@code firstDifference}: null when all agree. */
    public record Outcome(boolean same, List<Integer> nodes, int reference, List<Integer> differing, String firstDifference) {
    }

    private ResultComparison() {
    }

    public static Outcome compare(SortedMap<Integer, ResultDigest> byNode) {
        if (byNode.isEmpty()) {
            throw new IllegalArgumentException("no result to compare");
        }
        Map<String, List<Integer>> groups = new LinkedHashMap<>(); // in node order: the first group has the lowest id
        byNode.forEach((node, d) -> groups.computeIfAbsent(d.hash() + "/" + d.rowCount(), k -> new ArrayList<>()).add(node));
        List<Integer> largest = null;
        for (List<Integer> g : groups.values()) {
            if (largest == null || g.size() > largest.size()) {
                largest = g;
            }
        }
        List<Integer> nodes = List.copyOf(byNode.keySet());
        int reference = largest.get(0);
        List<Integer> referenceGroup = largest;
        List<Integer> differing = nodes.stream().filter(n -> !referenceGroup.contains(n)).collect(Collectors.toList());
        if (differing.isEmpty()) {
            return new Outcome(true, nodes, reference, List.of(), null);
        }
        int other = differing.get(0);
        return new Outcome(false, nodes, reference, differing,
            firstDifference(reference, byNode.get(reference), other, byNode.get(other)));
    }

    static String firstDifference(int nodeA, ResultDigest a, int nodeB, ResultDigest b) {
        String onA = " on node" + nodeA + ", ";
        String onB = " on node" + nodeB;
        if (!a.columns().equals(b.columns())) {
            return "mismatch in columns: " + a.columns() + onA + b.columns() + onB;
        }
        boolean comparable = a.ordered() || (a.complete() && b.complete());
        if (comparable) {
            List<List<String>> ra = a.rows();
            List<List<String>> rb = b.rows();
            for (int r = 0; r < Math.min(ra.size(), rb.size()); r++) {
                List<String> x = ra.get(r);
                List<String> y = rb.get(r);
                for (int c = 0; c < x.size(); c++) {
                    if (!java.util.Objects.equals(x.get(c), y.get(c))) {
                        return "mismatch in column '" + a.columns().get(c) + "' of row " + r + ": " + x.get(c) + onA
                            + y.get(c) + onB;
                    }
                }
            }
            if (ra.size() != rb.size() && (a.complete() || b.complete())) {
                return "mismatch in row count: " + a.rowCount() + onA + b.rowCount() + onB;
            }
        }
        if (a.rowCount() != b.rowCount()) {
            return "mismatch in row count: " + a.rowCount() + onA + b.rowCount() + onB;
        }
        return "mismatch in rows beyond the first " + ResultDigest.KEPT_ROWS + " (" + a.rowCount() + " rows each): digest "
            + a.hash() + onA + b.hash() + onB;
    }
}
