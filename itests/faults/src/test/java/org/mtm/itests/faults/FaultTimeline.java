package org.mtm.itests.faults;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import org.mtm.itests.harness.FaultClock;

/**
 * When each fault of a run began and when the cluster was whole again (online, all connected), in milliseconds of the
 * load's clock: places what a client saw at a time in the fault it happened under.
 */
final class FaultTimeline implements FaultClock {
    /**
     * One fault: injected at {@code from}, the cluster back to normal at {@code to}; {@code hit}: the nodes it hit
     * (the node killed, stopped or frozen; both ends of a cut link). The other nodes' gateways are the ones a
     * majority keeps serving through.
     */
    record Window(String label, Set<Integer> hit, long from, long to) {
        Window {
            hit = Set.copyOf(hit);
        }

        long millis() {
            return to - from;
        }
    }

    private final List<Window> windows = new CopyOnWriteArrayList<>();

    void add(String label, Set<Integer> hit, long from, long to) {
        windows.add(new Window(label, hit, from, to));
    }

    /**
     * The label of the first fault under way while a write was ({@code from} to {@code to}), else of the last one
     * healed before it; "warm-up" before the first.
     */
    @Override
    public String during(long from, long to) {
        Window last = null;
        for (Window w : windows) {
            if (w.from() <= to && from <= w.to()) {
                return w.label();
            }
            if (w.to() < from) {
                last = w;
            }
        }
        return last == null ? "warm-up" : last.label() + " (" + (from - last.to()) + " ms after it healed)";
    }

    List<Window> windows() {
        return List.copyOf(windows);
    }
}
