package org.mtm.sequence.internal;

import java.math.BigDecimal;
import java.util.Map;
import java.util.TreeMap;

/**
 * The statement {@code mtm.alter_sequences()} runs on every node inside one distributed transaction:
 * {@code mtm.stride_sequences(names, floors)} with the largest value each sequence handed out on any node.
 * The text is the same everywhere; each node computes its own residue from its node id. Pure.
 */
final class StrideStatement {
    private final Map<String, BigDecimal> floors = new TreeMap<>();

    /** Takes a node's {@code mtm.sequence_last_values()} row into account. */
    void lastValue(String sequence, BigDecimal lastValue) {
        floors.merge(sequence, lastValue, BigDecimal::max);
    }

    /** {@code SELECT pg_catalog.count(*) FROM mtm.stride_sequences(ARRAY[...]::text[], ARRAY[...]::numeric[])}. */
    String sql() {
        StringBuilder names = new StringBuilder();
        StringBuilder values = new StringBuilder();
        for (Map.Entry<String, BigDecimal> e : floors.entrySet()) {
            names.append(names.length() == 0 ? "" : ", ").append(quoteLiteral(e.getKey()));
            values.append(values.length() == 0 ? "" : ", ").append(e.getValue().toPlainString());
        }
        return "SELECT pg_catalog.count(*) FROM mtm.stride_sequences(ARRAY[" + names + "]::pg_catalog.text[], ARRAY["
                + values + "]::pg_catalog.numeric[])";
    }

    static String quoteLiteral(String text) {
        if (text.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a SQL literal cannot hold a NUL character");
        }
        return '\'' + text.replace("'", "''") + '\'';
    }
}
