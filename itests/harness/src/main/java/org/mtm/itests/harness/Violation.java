package org.mtm.itests.harness;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One thing a fault run found that must never be: its {@code kind} ("acknowledged write absent"), what the cluster
 * was going through when it happened ({@code during}: a fault label that starts with the fault's kind, e.g.
 * "kill-karaf #3 of node2", or "healed" for a check after the run) and the precise {@code detail}.
 */
public record Violation(String kind, String during, String detail) {
    public static final String AFTER_THE_RUN = "healed";

    public static Violation afterTheRun(String kind, String detail) {
        return new Violation(kind, AFTER_THE_RUN, detail);
    }

    /** The fault kind of {@link #during}: its first word. */
    public String faultKind() {
        int space = during.indexOf(' ');
        return space < 0 ? during : during.substring(0, space);
    }

    /** How many violations of each kind, per fault kind: "acknowledged write absent [kill-karaf]" → 3. */
    public static Map<String, Long> counts(List<Violation> violations) {
        Map<String, Long> counts = new TreeMap<>();
        violations.forEach(v -> counts.merge(v.kind() + " [" + v.faultKind() + "]", 1L, Long::sum));
        return counts;
    }

    @Override
    public String toString() {
        return kind + " (" + during + "): " + detail;
    }
}
