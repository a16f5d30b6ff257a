package org.mtm.consensus.internal.settings;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The {@code org.mtm.multimaster} keys every node should run with the same value, as the text peers exchange
 * ({@code key=value} lines, UTF-8), and how two nodes' values differ. Pure.
 *
 * <p>Why these: a different {@code heartbeat_recv_timeout}/{@code heartbeat_send_timeout} makes one node drop a
 * peer the other still counts connected; {@code monotonic_sequences} and {@code deadlock_prevention} change what
 * values and which transaction wins on each node; {@code ignore_tables_without_pk}, {@code remote_functions} and
 * {@code binary_basetypes} change what is replicated and how; a {@code referee_connstring} on one data node only is
 * a 2+1 cluster that cannot work. The other keys are local tuning.
 */
public final class SharedSettings {

    /** The keys compared, with the manual's defaults (a value a peer does not send is its default). */
    static final Map<String, String> DEFAULTS = new TreeMap<>(Map.of(
        "heartbeat_recv_timeout", "2000",
        "heartbeat_send_timeout", "200",
        "monotonic_sequences", "false",
        "deadlock_prevention", "off",
        "ignore_tables_without_pk", "false",
        "remote_functions", "",
        "binary_basetypes", "true",
        "referee_connstring", ""));

    private static final String ASK = "ask=1";

    private SharedSettings() {
    }

    /**
     * This node's values from its configuration properties (keys as in the cfg file); the referee's conninfo is
     * reduced to whether one is set, so no password crosses the link.
     */
    public static Map<String, String> of(Map<String, ?> properties) {
        Map<String, String> values = new TreeMap<>();
        for (Map.Entry<String, String> d : DEFAULTS.entrySet()) {
            Object v = properties.get(d.getKey());
            String text = v == null ? d.getValue() : v.toString().trim();
            if (d.getKey().equals("referee_connstring")) {
                text = text.isEmpty() ? "" : "(set)";
            }
            if (d.getKey().equals("deadlock_prevention")) {
                text = text.toLowerCase(java.util.Locale.ROOT);
            }
            values.put(d.getKey(), text);
        }
        return values;
    }

    /** Without asking for the peer's values in return. */
    public static byte[] encode(Map<String, String> values) {
        return encode(values, false);
    }

    /** {@code ask}: the receiver answers with its own values (a sender that has just started, or changed, knows nothing). */
    public static byte[] encode(Map<String, String> values, boolean ask) {
        StringBuilder out = new StringBuilder(ask ? ASK + "\n" : "");
        values.forEach((k, v) -> out.append(k).append('=').append(v.replace('\n', ' ')).append('\n'));
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Whether the sender asks for the receiver's values. */
    public static boolean asks(byte[] payload) {
        return new String(payload, StandardCharsets.UTF_8).startsWith(ASK + "\n");
    }

    /** Lines without {@code =} and keys this version does not compare are ignored (a newer peer may send more). */
    public static Map<String, String> decode(byte[] payload) {
        Map<String, String> values = new TreeMap<>();
        for (String line : new String(payload, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && DEFAULTS.containsKey(line.substring(0, eq))) {
                values.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return values;
    }

    /** {@code node N: key = theirs (here ours)} for every compared key that differs; a key a peer did not send is its default. */
    public static List<String> differences(int peer, Map<String, String> theirs, Map<String, String> ours) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> d : DEFAULTS.entrySet()) {
            String key = d.getKey();
            String a = ours.getOrDefault(key, d.getValue());
            String b = theirs.getOrDefault(key, d.getValue());
            if (!Objects.equals(a, b)) {
                out.add("node " + peer + ": " + key + " = " + show(b) + " (here " + show(a) + ")");
            }
        }
        return out;
    }

    private static String show(String v) {
        return v.isEmpty() ? "''" : v;
    }
}
