package org.mtm.itests.faults;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * When each fault of a run began and when the cluster was whole again (online, all connected), in milliseconds of the
 * load's clock: places what a client saw at a time in the fault it happened under.
 */
final class FaultTimeline {
    /** One fault: injected at {@code from}, the cluster back to normal at {@code to}. */
    record Window(String label, long from, long to) {
    }

    private final List<Window> windows = new CopyOnWriteArrayList<>();

    void add(String label, long from, long to) {
        windows.add(new Window(label, from, to));
    }

    /** The fault under way at {@code millis}, or the last one healed before it; "warm-up" before the first. */
    String faultAt(long millis) {
        Window last = null;
        for (Window w : windows) {
            if (w.from() <= millis) {
                last = w;
            }
        }
        if (last == null) {
            return "warm-up";
        }
        return millis <= last.to() ? last.label() : last.label() + " (" + (millis - last.to()) + " ms after it healed)";
    }

    List<Window> windows() {
        return List.copyOf(windows);
    }
}
