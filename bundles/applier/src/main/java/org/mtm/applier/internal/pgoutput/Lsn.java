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
        try {
            return (Long.parseLong(text, 0, slash, 16) << 32) | Long.parseLong(text, slash + 1, text.length(), 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an LSN (expected X/X with hex digits): \"" + text + "\"", e);
        }
    }
}
