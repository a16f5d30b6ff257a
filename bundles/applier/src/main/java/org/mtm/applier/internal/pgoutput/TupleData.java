package org.mtm.applier.internal.pgoutput;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The column values of one row in an insert, update or delete (pgoutput "TupleData").
 *
 * <p>Each column is one of: {@link #NULL} ({@code 'n'}), {@link #UNCHANGED_TOAST} ({@code 'u'}: a TOASTed
 * value the change did not touch; its content is not sent, the receiver keeps its current value),
 * {@link #TEXT} ({@code 't'}: the type's text output, UTF-8) or {@link #BINARY} ({@code 'b'}: the type's
 * send format, only with the {@code binary} option).
 *
 * <p>Immutable. The values of all columns share one byte array copied once from the message, so a row
 * costs four allocations however many columns it has.
 */
public final class TupleData {

    public static final byte NULL = 'n';
    public static final byte UNCHANGED_TOAST = 'u';
    public static final byte TEXT = 't';
    public static final byte BINARY = 'b';

    private final byte[] kinds;
    /** Column i's value is {@code data[ends[i] - length(i) .. ends[i])}; starts[i] = ends[i-1]. */
    private final int[] ends;
    private final byte[] data;

    /** Used by the decoder, which has validated the arrays; they are not copied. */
    TupleData(byte[] kinds, int[] ends, byte[] data) {
        this.kinds = kinds;
        this.ends = ends;
        this.data = data;
    }

    /**
     * Builds a tuple from explicit values (tests, and the applier when it synthesises rows).
     *
     * @param kinds  one of {@link #NULL}, {@link #UNCHANGED_TOAST}, {@link #TEXT}, {@link #BINARY} per column
     * @param values the value per column; must be null exactly for NULL and UNCHANGED_TOAST columns
     */
    public static TupleData of(byte[] kinds, byte[][] values) {
        if (kinds.length != values.length) {
            throw new IllegalArgumentException("kinds has " + kinds.length + " columns but values has " + values.length);
        }
        int total = 0;
        for (int i = 0; i < kinds.length; i++) {
            boolean hasValue = kinds[i] == TEXT || kinds[i] == BINARY;
            if (!hasValue && kinds[i] != NULL && kinds[i] != UNCHANGED_TOAST) {
                throw new IllegalArgumentException("column " + i + ": unknown kind '" + (char) kinds[i] + "'");
            }
            if (hasValue != (values[i] != null)) {
                throw new IllegalArgumentException("column " + i + ": kind '" + (char) kinds[i]
                        + (hasValue ? "' needs a value" : "' takes no value"));
            }
            total += hasValue ? values[i].length : 0;
        }
        byte[] data = new byte[total];
        int[] ends = new int[kinds.length];
        int pos = 0;
        for (int i = 0; i < kinds.length; i++) {
            if (values[i] != null) {
                System.arraycopy(values[i], 0, data, pos, values[i].length);
                pos += values[i].length;
            }
            ends[i] = pos;
        }
        return new TupleData(kinds.clone(), ends, data);
    }

    /** Number of columns (all non-dropped, non-generated columns of the relation, in attribute order). */
    public int size() { return kinds.length; }

    /** The kind byte of column {@code i}: {@link #NULL}, {@link #UNCHANGED_TOAST}, {@link #TEXT} or {@link #BINARY}. */
    public byte kind(int i) { return kinds[i]; }

    public boolean isNull(int i) { return kinds[i] == NULL; }

    public boolean isUnchangedToast(int i) { return kinds[i] == UNCHANGED_TOAST; }

    public boolean isText(int i) { return kinds[i] == TEXT; }

    public boolean isBinary(int i) { return kinds[i] == BINARY; }

    /** True when column {@code i} carries bytes (text or binary). */
    public boolean hasValue(int i) { return kinds[i] == TEXT || kinds[i] == BINARY; }

    /** Length in bytes of column {@code i}'s value; 0 for null and unchanged TOAST. */
    public int valueLength(int i) { return ends[i] - start(i); }

    /** A copy of column {@code i}'s raw bytes, or null for null and unchanged TOAST columns. */
    public byte[] bytes(int i) {
        return hasValue(i) ? Arrays.copyOfRange(data, start(i), ends[i]) : null;
    }

    /** A read-only view of column {@code i}'s raw bytes (no copy), or null for null and unchanged TOAST columns. */
    public ByteBuffer value(int i) {
        return hasValue(i) ? ByteBuffer.wrap(data, start(i), valueLength(i)).slice().asReadOnlyBuffer() : null;
    }

    /**
     * Column {@code i} as text: the value for a text column, null for a NULL column.
     *
     * @throws IllegalStateException for an unchanged TOAST or a binary column, which have no text to give
     */
    public String text(int i) {
        switch (kinds[i]) {
            case TEXT: return new String(data, start(i), valueLength(i), StandardCharsets.UTF_8);
            case NULL: return null;
            case UNCHANGED_TOAST:
                throw new IllegalStateException("column " + i + " is an unchanged TOAST value: its content was not sent, "
                        + "keep the receiver's current value");
            default:
                throw new IllegalStateException("column " + i + " is in binary format: use bytes(" + i + ") "
                        + "and the type's receive function");
        }
    }

    private int start(int i) { return i == 0 ? 0 : ends[i - 1]; }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TupleData other) || other.kinds.length != kinds.length || !Arrays.equals(other.kinds, kinds)) {
            return false;
        }
        return Arrays.equals(other.ends, ends) && Arrays.equals(other.data, data);
    }

    @Override
    public int hashCode() { return 31 * Arrays.hashCode(kinds) + Arrays.hashCode(data); }

    /** E.g. {@code (1, 'abc', NULL, UNCHANGED, <4 binary bytes>)}; long text is cut at 40 characters. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < kinds.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            switch (kinds[i]) {
                case NULL: sb.append("NULL"); break;
                case UNCHANGED_TOAST: sb.append("UNCHANGED"); break;
                case BINARY: sb.append('<').append(valueLength(i)).append(" binary bytes>"); break;
                default:
                    String text = text(i);
                    sb.append('\'').append(text.length() > 40 ? text.substring(0, 40) + "...(" + text.length() + " chars)" : text)
                            .append('\'');
            }
        }
        return sb.append(')').toString();
    }
}
