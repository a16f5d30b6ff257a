package org.mtm.admin.internal.check;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

/**
 * What one node's result of a query comes to: its columns, its row count and a hash of its rows — in their order when
 * the query orders them, as a multiset otherwise (the sum of the rows' hashes, so the same rows in another order give
 * the same hash without holding them all) — and its first {@value #KEPT_ROWS} rows, to say where two results differ.
 * Values are compared as PostgreSQL prints them (text). Pure.
 */
public final class ResultDigest {
    public static final int KEPT_ROWS = 1000;
    private static final BigInteger MOD = BigInteger.ONE.shiftLeft(128);
    private static final Comparator<String> VALUE_ORDER = Comparator.nullsFirst(Comparator.naturalOrder());

    private final List<String> columns;
    private final boolean ordered;
    private final MessageDigest sequence = sha256();
    private BigInteger sum = BigInteger.ZERO;
    private long rows;
    private final List<List<String>> kept = new ArrayList<>();

    public ResultDigest(List<String> columns, boolean ordered) {
        this.columns = List.copyOf(columns);
        this.ordered = ordered;
    }

    /** The next row, one text value (or null) per column. */
    public void add(List<String> row) {
        byte[] hash = rowHash(row);
        if (ordered) {
            sequence.update(hash);
        } else {
            sum = sum.add(new BigInteger(1, java.util.Arrays.copyOf(hash, 16))).mod(MOD);
        }
        if (kept.size() < KEPT_ROWS) {
            kept.add(new ArrayList<>(row));
        }
        rows++;
    }

    public List<String> columns() {
        return columns;
    }

    public long rowCount() {
        return rows;
    }

    public boolean ordered() {
        return ordered;
    }

    /** Hex hash of the rows (and columns): equal for equal results. */
    public String hash() {
        MessageDigest d = sha256();
        d.update(String.join("\u0000", columns).getBytes(StandardCharsets.UTF_8));
        d.update(ordered ? cloneOf(sequence).digest() : sum.toByteArray());
        return HexFormat.of().formatHex(d.digest(), 0, 16);
    }

    /** Whether {@link #rows()} holds every row. */
    public boolean complete() {
        return rows == kept.size();
    }

    /**
     * The rows kept, in the order compared: as returned when ordered; sorted when not (only meaningful when
     * {@link #complete()}: the first rows PostgreSQL happened to return are no sample of another node's).
     */
    public List<List<String>> rows() {
        if (ordered) {
            return List.copyOf(kept);
        }
        List<List<String>> sorted = new ArrayList<>(kept);
        sorted.sort(ResultDigest::compareRows);
        return sorted;
    }

    static int compareRows(List<String> a, List<String> b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            int c = VALUE_ORDER.compare(a.get(i), b.get(i));
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(a.size(), b.size());
    }

    private static byte[] rowHash(List<String> row) {
        MessageDigest d = sha256();
        for (String v : row) {
            if (v == null) {
                d.update((byte) 0);
            } else {
                byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
                d.update((byte) 1);
                d.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
                d.update(bytes);
            }
        }
        return d.digest();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }

    private static MessageDigest cloneOf(MessageDigest d) {
        try {
            return (MessageDigest) d.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("SHA-256 digests of this Java runtime cannot be cloned", e);
        }
    }
}
