package org.mtm.applier.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Consecutive INSERTs into one relation, held as their values until the run is flushed: many rows go to PostgreSQL as
 * one {@code COPY ... FROM STDIN} — a bulk load's rows parsed and inserted at COPY's pace instead of one executed
 * INSERT each (a peer applying {@code pgbench -i}'s million rows spent most of the load's time there) — and a few as
 * the batch of the relation's prepared INSERT, for which COPY's own setup does not pay. Either way the rows are the
 * origin's text values, read by the local columns' input functions; COPY writes GENERATED ALWAYS identity columns
 * as given, as {@code OVERRIDING SYSTEM VALUE} does.
 */
final class InsertRun {
    /** From this many rows on, a run goes as COPY. */
    static final int COPY_FROM_ROWS = 64;
    /** A run is flushed when it holds this many rows, or {@link #MAX_CHARS} characters of values. */
    static final int MAX_ROWS = 10_000;
    static final int MAX_CHARS = 4 << 20;

    final Target target;
    private final List<String[]> rows = new ArrayList<>();
    private long chars;

    InsertRun(Target target) {
        this.target = target;
    }

    void add(String[] values) {
        rows.add(values);
        for (String v : values) {
            chars += v == null ? 2 : v.length() + 1;
        }
    }

    boolean full() {
        return rows.size() >= MAX_ROWS || chars >= MAX_CHARS;
    }

    boolean byCopy() {
        return rows.size() >= COPY_FROM_ROWS;
    }

    List<String[]> rows() {
        return rows;
    }

    /** {@code COPY <relation> (<columns>) FROM STDIN}, text format. */
    static String copySql(Target t) {
        return "COPY " + t.qualifiedName + " (" + String.join(", ", t.columns) + ") FROM STDIN";
    }

    /** The rows in COPY's text format, UTF-8 (the applier's client encoding). */
    byte[] copyData() {
        StringBuilder out = new StringBuilder((int) Math.min(Integer.MAX_VALUE - 16, chars + rows.size() * 4L));
        for (String[] row : rows) {
            appendRow(out, row);
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** One line of COPY's text format: tab-separated, {@code \N} for NULL, backslash escapes where needed. */
    static void appendRow(StringBuilder out, String[] values) {
        for (int i = 0; i < values.length; i++) {
            if (i > 0) {
                out.append('\t');
            }
            String v = values[i];
            if (v == null) {
                out.append("\\N");
                continue;
            }
            for (int k = 0; k < v.length(); k++) {
                char c = v.charAt(k);
                switch (c) {
                    case '\\' -> out.append("\\\\");
                    case '\t' -> out.append("\\t");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    default -> out.append(c);
                }
            }
        }
        out.append('\n');
    }
}
