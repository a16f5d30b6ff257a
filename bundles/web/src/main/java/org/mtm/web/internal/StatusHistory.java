package org.mtm.web.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The last minutes of a node's figures for the status page's charts: samples of its commit and apply counters and
 * of the apply lag per peer, taken every second or so, turned into rates between neighbouring samples. Kept in memory
 * only (it is a view, not state): a restart or a bundle update starts it again.
 */
final class StatusHistory {

    /** Cumulative counters at one moment; a peer missing from {@code lagBytes} had no receiver then. */
    record Sample(long epochMs, long committed, long applied, Map<Integer, Long> lagBytes) {
        Sample {
            lagBytes = Map.copyOf(lagBytes);
        }
    }

    /** Series for the charts, one value per interval between samples (seconds since the epoch at its end). */
    record Series(List<Long> time, List<Double> commitsPerSecond, List<Double> appliedPerSecond,
                  Map<Integer, List<Long>> lagBytes) {
    }

    private final int capacity;
    private final Deque<Sample> samples = new ArrayDeque<>();

    StatusHistory(int capacity) {
        if (capacity < 2) {
            throw new IllegalArgumentException("a history needs at least 2 samples, got " + capacity);
        }
        this.capacity = capacity;
    }

    synchronized void record(Sample s) {
        if (!samples.isEmpty() && s.epochMs() <= samples.peekLast().epochMs()) {
            return; // the clock went back or the same moment twice: a rate over it means nothing
        }
        samples.addLast(s);
        while (samples.size() > capacity) {
            samples.removeFirst();
        }
    }

    synchronized Series series() {
        List<Sample> all = new ArrayList<>(samples);
        TreeSet<Integer> peers = new TreeSet<>();
        all.forEach(s -> peers.addAll(s.lagBytes().keySet()));
        List<Long> time = new ArrayList<>();
        List<Double> commits = new ArrayList<>();
        List<Double> applied = new ArrayList<>();
        Map<Integer, List<Long>> lag = new LinkedHashMap<>();
        peers.forEach(p -> lag.put(p, new ArrayList<>()));
        for (int i = 1; i < all.size(); i++) {
            Sample before = all.get(i - 1);
            Sample now = all.get(i);
            double seconds = (now.epochMs() - before.epochMs()) / 1000.0;
            time.add(now.epochMs() / 1000);
            commits.add(rate(before.committed(), now.committed(), seconds));
            applied.add(rate(before.applied(), now.applied(), seconds));
            for (int p : peers) {
                lag.get(p).add(now.lagBytes().get(p));
            }
        }
        return new Series(time, commits, applied, lag);
    }

    /** A counter that went down was restarted (its bundle updated): no rate for that interval rather than a negative one. */
    private static Double rate(long before, long now, double seconds) {
        return now < before ? null : (now - before) / seconds;
    }
}
