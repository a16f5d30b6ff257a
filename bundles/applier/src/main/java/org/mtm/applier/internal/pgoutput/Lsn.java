package org.mtm.applier.internal.pgoutput;

/** PostgreSQL log sequence numbers held as {@code long}, printed the way the server prints them. */
public final class Lsn {

    /** InvalidXLogRecPtr. */
    public static final long INVALID = 0L;

    private Lsn() {
    }

    /** {@code 0x16B3748} → {@code "0/16B3748"} (upper-case hex, high and low 32 bits). */
    public static String format(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase() + '/' + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
    }

    /**
     * {@code "0/16B3748"} → {@code 0x16B3748}.
     *
     * @throws IllegalArgumentException when {@code text} is not two hex numbers of at most 8 digits separated by '/'
     */
    public static long parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 1 || slash > 8 || slash == text.length() - 1 || text.length() - slash - 1 > 8) {
            throw new IllegalArgumentException("not an LSN (expected X/X with at most 8 hex digits each): \"" + text + "\"");
        }
        return (hex(text, 0, slash) << 32) | hex(text, slash + 1, text.length());
    }

    private static long hex(String text, int from, int to) {
        long value = 0;
        for (int i = from; i < to; i++) {
            int digit = Character.digit(text.charAt(i), 16);
            if (digit < 0) {
                throw new IllegalArgumentException("not an LSN (expected X/X with hex digits): \"" + text + "\"");
            }
            value = value << 4 | digit;
        }
        return value;
    }
}
