package org.mtm.api;

import java.nio.charset.StandardCharsets;

/**
 * The ParallelSafe marker of DESIGN §3: a transactional logical message with prefix {@link #PREFIX} and the
 * generation number as decimal text, logged by a node in the same transaction that makes it online in that
 * generation. Every PREPARE of an older generation precedes it in the node's WAL and every PREPARE of that
 * generation follows it, so a node recovering from this donor has everything older once it applied the marker.
 */
public final class GenerationMarker {
    public static final String PREFIX = "mtm.parallel_safe";

    private GenerationMarker() {
    }

    /** The SQL that logs the marker of {@code generation} inside the current transaction. */
    public static String emitSql(long generation) {
        return "SELECT pg_catalog.pg_logical_emit_message(true, '" + PREFIX + "', '" + generation + "')";
    }

    /** The generation a marker's content names; IllegalArgumentException for anything else. */
    public static long parse(byte[] content) {
        String text = new String(content, StandardCharsets.UTF_8);
        try {
            long gen = Long.parseLong(text);
            if (gen < 1) {
                throw new IllegalArgumentException("generation marker names generation " + gen);
            }
            return gen;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("generation marker content '" + text + "' is not a generation number", e);
        }
    }
}
