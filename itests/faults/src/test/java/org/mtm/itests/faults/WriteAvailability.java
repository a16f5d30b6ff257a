package org.mtm.itests.faults;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.mtm.itests.harness.Attempt;
import org.mtm.itests.harness.ClientOutcome;

/**
 * When writes succeeded, from what the clients saw (issue 9: "longest write outage per fault, % of time writes
 * succeeded"): the times at which each gateway acknowledged a write ({@link Attempt#endMillis()} of every
 * acknowledged attempt), in milliseconds of the load's clock. Pure: built from the attempts, no cluster.
 *
 * <p>An <em>outage</em> on a set of gateways is an interval in which none of them acknowledged a write; the
 * <em>served share</em> of an interval is the part of it, cut in {@value #BUCKET_MILLIS} ms buckets from its start,
 * covered by buckets in which at least one of them acknowledged a write (a last, shorter bucket counts for its
 * length).
 */
final class WriteAvailability {
    static final long BUCKET_MILLIS = 1_000;

    /** An interval of the load's clock with no acknowledged write: {@code from} to {@code to}. */
    record Outage(long from, long to) {
        long millis() {
            return to - from;
        }

        static Outage longest(Collection<Outage> outages) {
            return outages.stream().reduce(new Outage(0, 0), (a, b) -> b.millis() > a.millis() ? b : a);
        }

        @Override
        public String toString() {
            return millis() + " ms (t=" + from + ".." + to + " ms)";
        }
    }

    /** Of {@code millis} of time, {@code servedMillis} in buckets with an acknowledged write. */
    record Share(long servedMillis, long millis) {
        static final Share NONE = new Share(0, 0);

        Share plus(Share other) {
            return new Share(servedMillis + other.servedMillis, millis + other.millis);
        }

        double percent() {
            return millis == 0 ? 100.0 : 100.0 * servedMillis / millis;
        }

        @Override
        public String toString() {
            return String.format("%.1f%% of %.0f s", percent(), millis / 1000.0);
        }
    }

    /** Per gateway (node id), the sorted times of its acknowledgements. */
    private final Map<Integer, long[]> acknowledged;

    private WriteAvailability(Map<Integer, long[]> acknowledged) {
        this.acknowledged = acknowledged;
    }

    static WriteAvailability of(List<Attempt> attempts) {
        Map<Integer, long[]> acks = new TreeMap<>();
        attempts.stream().filter(a -> a.outcome() == ClientOutcome.ACKNOWLEDGED).map(Attempt::gateway).distinct()
            .forEach(gateway -> acks.put(gateway, attempts.stream()
                .filter(a -> a.gateway() == gateway && a.outcome() == ClientOutcome.ACKNOWLEDGED)
                .mapToLong(Attempt::endMillis).sorted().toArray()));
        return new WriteAvailability(acks);
    }

    /** The longest interval within {@code from}..{@code to} in which none of {@code gateways} acknowledged a write. */
    Outage longestOutage(Set<Integer> gateways, long from, long to) {
        long[] acks = acknowledgements(gateways, from, to);
        Outage longest = new Outage(from, acks.length == 0 ? to : acks[0]);
        for (int i = 1; i <= acks.length; i++) {
            Outage gap = new Outage(acks[i - 1], i == acks.length ? to : acks[i]);
            if (gap.millis() > longest.millis()) {
                longest = gap;
            }
        }
        return longest;
    }

    /** The part of {@code from}..{@code to} in buckets where one of {@code gateways} acknowledged a write. */
    Share served(Set<Integer> gateways, long from, long to) {
        long[] acks = acknowledgements(gateways, from, to);
        long served = 0;
        int next = 0;
        for (long start = from; start < to; start += BUCKET_MILLIS) {
            long end = Math.min(to, start + BUCKET_MILLIS);
            while (next < acks.length && acks[next] < start) {
                next++;
            }
            if (next < acks.length && acks[next] < end) {
                served += end - start;
            }
        }
        return new Share(served, Math.max(0, to - from));
    }

    /** The gateways that acknowledged at least one write. */
    Set<Integer> gateways() {
        return acknowledged.keySet();
    }

    /** Acknowledgements of {@code gateways} at {@code from}..{@code to} (both included), sorted. */
    private long[] acknowledgements(Set<Integer> gateways, long from, long to) {
        return gateways.stream().map(g -> acknowledged.getOrDefault(g, new long[0])).flatMapToLong(Arrays::stream)
            .filter(t -> t >= from && t <= to).sorted().toArray();
    }
}
