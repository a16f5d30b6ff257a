package org.mtm.applier.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The cluster's wait-for graph between transactions, for global deadlock detection (the original's "ddd"): every node
 * reports the waits of its apply sessions — the copy of transaction {@code waiter} waits here for a lock held by
 * prepared transaction {@code holder} (found by {@link LockWatch}) — and hears the others'. Across nodes such waits
 * can close a cycle no single server sees: {@code X} waits for {@code Y} on one node, {@code Y} for {@code X} on
 * another, and neither can gather its votes until a lock timeout ends both.
 *
 * <p>A cycle is broken by cancelling one apply: the <em>victim</em> of a cycle is its transaction last in
 * {@link DeadlockPrevention#SMART}'s order ({@link DeadlockPrevention#after}) — the same choice on every node, as each judges the same graph — and only
 * the node where the victim's copy waits acts ({@link #victims}): its apply votes the victim down with 40P01, the
 * victim is rolled back everywhere, and the rest of the cycle goes on. Nodes that see the graph at slightly different
 * moments may both act (two aborts instead of one) or neither (the next round, {@link LockWatch#INTERVAL_MS} later,
 * looks again): a cancel before the vote is always safe. Reported edges expire unless reported again.
 *
 * <p>Pure: no I/O, no clock of its own (callers pass the time); not thread-safe (the caller synchronizes).
 */
final class WaitsFor {
    /** The copy of {@code waiter} waits for a lock held by prepared {@code holder}. */
    record Edge(String waiter, String holder) {
    }

    private record Report(Set<Edge> edges, long at) {
    }

    /** Longest encoded report (the transport's frames are small); edges beyond it are left out. */
    static final int MAX_EDGES = 2000;

    private final Map<Integer, Report> byNode = new HashMap<>();

    /** Replaces what {@code node} reported (an empty set: it waits for nothing now). */
    void report(int node, Set<Edge> edges, long now) {
        byNode.put(node, new Report(Set.copyOf(edges), now));
    }

    /** Forgets reports older than {@code maxAge} (a node that stopped reporting, or left). */
    void expire(long now, long maxAge) {
        byNode.values().removeIf(r -> now - r.at() > maxAge);
    }

    Set<Edge> reported(int node) {
        Report r = byNode.get(node);
        return r == null ? Set.of() : r.edges();
    }

    /**
     * The transactions whose apply on node {@code self} is to be cancelled: each waits here and is the victim of the
     * cycle (strongly connected component of the whole graph) it belongs to.
     */
    Set<String> victims(int self) {
        Set<Edge> local = reported(self);
        if (local.isEmpty()) {
            return Set.of();
        }
        Map<String, Set<String>> graph = new HashMap<>();
        for (Report r : byNode.values()) {
            for (Edge e : r.edges()) {
                graph.computeIfAbsent(e.waiter(), k -> new LinkedHashSet<>()).add(e.holder());
            }
        }
        Set<String> victims = new HashSet<>();
        for (Set<String> component : components(graph)) {
            if (component.size() < 2) {
                continue; // a transaction waits for itself only across its own copies: no cycle between transactions
            }
            String victim = null;
            for (String gid : component) {
                if (victim == null || DeadlockPrevention.after(gid, victim)) {
                    victim = gid; // last in the order: it would give way to every other member
                }
            }
            for (Edge e : local) {
                if (e.waiter().equals(victim) && component.contains(e.holder())) {
                    victims.add(victim);
                }
            }
        }
        return victims;
    }

    /** Tarjan's strongly connected components, iteratively (graphs of thousands of waits must not overflow a stack). */
    static List<Set<String>> components(Map<String, Set<String>> graph) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new HashSet<>();
        List<Set<String>> out = new ArrayList<>();
        int[] next = {0};
        for (String root : graph.keySet()) {
            if (index.containsKey(root)) {
                continue;
            }
            Deque<Object[]> work = new ArrayDeque<>(); // {vertex, iterator over its successors}
            index.put(root, next[0]);
            low.put(root, next[0]++);
            stack.push(root);
            onStack.add(root);
            work.push(new Object[] {root, graph.getOrDefault(root, Set.of()).iterator()});
            while (!work.isEmpty()) {
                Object[] frame = work.peek();
                String v = (String) frame[0];
                @SuppressWarnings("unchecked")
                java.util.Iterator<String> it = (java.util.Iterator<String>) frame[1];
                if (it.hasNext()) {
                    String w = it.next();
                    if (!index.containsKey(w)) {
                        index.put(w, next[0]);
                        low.put(w, next[0]++);
                        stack.push(w);
                        onStack.add(w);
                        work.push(new Object[] {w, graph.getOrDefault(w, Set.of()).iterator()});
                    } else if (onStack.contains(w)) {
                        low.put(v, Math.min(low.get(v), index.get(w)));
                    }
                    continue;
                }
                work.pop();
                if (!work.isEmpty()) {
                    String parent = (String) work.peek()[0];
                    low.put(parent, Math.min(low.get(parent), low.get(v)));
                }
                if (low.get(v).equals(index.get(v))) {
                    Set<String> component = new HashSet<>();
                    String w;
                    do {
                        w = stack.pop();
                        onStack.remove(w);
                        component.add(w);
                    } while (!w.equals(v));
                    out.add(component);
                }
            }
        }
        return out;
    }

    /** A report on the wire: one {@code waiter TAB holder} line per edge, UTF-8. */
    static byte[] encode(Set<Edge> edges) {
        StringBuilder out = new StringBuilder();
        int n = 0;
        for (Edge e : edges) {
            if (n++ == MAX_EDGES) {
                break;
            }
            out.append(e.waiter()).append('\t').append(e.holder()).append('\n');
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** @throws IllegalArgumentException for a malformed report */
    static Set<Edge> decode(byte[] payload) {
        Set<Edge> edges = new HashSet<>();
        String text = new String(payload, StandardCharsets.UTF_8);
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            int tab = line.indexOf('\t');
            if (tab <= 0 || tab == line.length() - 1 || line.indexOf('\t', tab + 1) >= 0 || edges.size() >= MAX_EDGES) {
                throw new IllegalArgumentException("malformed wait-for report line: " + line);
            }
            edges.add(new Edge(line.substring(0, tab), line.substring(tab + 1)));
        }
        return edges;
    }
}
