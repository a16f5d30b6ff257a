package org.mtm.gateway.internal.sql;

import java.util.function.IntUnaryOperator;

/**
 * PostgreSQL's error cursor (the ErrorResponse's {@code P}: 1-based characters of the query text the server got)
 * against bytes of the text the gateway sent: the gateway relays pieces of a query and rewritten statements, and the
 * client must see the position in its own text (issue 8 part 5). Characters, not bytes: in UTF-8 a character is its
 * lead byte and the continuation bytes after it; other client encodings the gateway takes as one byte a character.
 * Pure.
 */
public final class ErrorPositions {
    private ErrorPositions() {
    }

    /**
     * The byte (0-based, from {@code from}) where character {@code position} (1-based) of bytes {@code [from, to)}
     * begins; past the end, as many bytes past it as characters.
     */
    public static int byteOf(IntUnaryOperator byteAt, int from, int to, int position, boolean utf8) {
        int chars = 0;
        int i = from;
        for (; i < to; i++) {
            if (!utf8 || (byteAt.applyAsInt(i) & 0xC0) != 0x80) {
                if (chars == position - 1) {
                    return i - from;
                }
                chars++;
            }
        }
        return i - from + (position - 1 - chars);
    }

    /** The characters of bytes {@code [from, end)}. */
    public static int charsBefore(IntUnaryOperator byteAt, int from, int end, boolean utf8) {
        if (!utf8) {
            return end - from;
        }
        int n = 0;
        for (int i = from; i < end; i++) {
            n += (byteAt.applyAsInt(i) & 0xC0) == 0x80 ? 0 : 1;
        }
        return n;
    }

    /**
     * The client's error position of a statement sent as {@code sent} (Latin-1 chars of its bytes), made from the
     * client's text by {@code chain} in order (the first edits the client's text): PostgreSQL's position taken back.
     */
    public static IntUnaryOperator back(String sent, boolean utf8, TextEdits... chain) {
        return p -> {
            int i = byteOf(bytes(sent), 0, sent.length(), p, utf8);
            for (int k = chain.length - 1; k >= 0; k--) {
                i = chain[k].originalIndex(i);
            }
            String original = chain[0].original();
            int within = Math.min(i, original.length());
            return charsBefore(bytes(original), 0, within, utf8) + 1 + (i - within);
        };
    }

    /** The bytes of a Latin-1 view of them (one char a byte). */
    public static IntUnaryOperator bytes(CharSequence latin1) {
        return i -> latin1.charAt(i);
    }
}
