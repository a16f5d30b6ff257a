package org.mtm.applier.internal;

import java.math.BigInteger;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code monotonic_sequences = true} (manual F.31.5.1): a node skips the values of its residue below a value another
 * node already handed out. A peer's transaction is the only place this node learns of such values, so the applier
 * collects, per sequence, the largest value the transaction wrote into a column that sequence feeds (serial,
 * identity, {@code OWNED BY}, {@code DEFAULT nextval(...)}), and before it prepares the transaction moves each
 * sequence above it ({@code mtm.advance_sequences}). Every node has done so before the origin's commit is
 * acknowledged, so an id taken anywhere after that commit is larger. Pure.
 */
final class SequenceFloors {
    private final Map<String, BigInteger> floors = new TreeMap<>();

    /** A value written into a column fed by {@code sequence} (its regclass text); values that are not integers are ignored. */
    void written(String sequence, String value) {
        BigInteger v;
        try {
            v = new BigInteger(value.trim());
        } catch (NumberFormatException e) {
            return; // a column of another type with a nextval() default: nothing a sequence can be compared with
        }
        floors.merge(sequence, v, BigInteger::max);
    }

    boolean isEmpty() {
        return floors.isEmpty();
    }

    /** The call that moves the sequences, one round trip for the whole transaction. */
    String advanceSql() {
        StringBuilder names = new StringBuilder();
        StringBuilder values = new StringBuilder();
        for (Map.Entry<String, BigInteger> e : floors.entrySet()) {
            names.append(names.length() == 0 ? "" : ", ").append(Sql.quoteLiteral(e.getKey()));
            values.append(values.length() == 0 ? "" : ", ").append(e.getValue());
        }
        return "SELECT mtm.advance_sequences(ARRAY[" + names + "]::pg_catalog.text[], ARRAY[" + values
                + "]::pg_catalog.numeric[])";
    }

    void clear() {
        floors.clear();
    }
}
