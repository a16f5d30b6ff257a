package org.mtm.gateway.internal.sql;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One-dimensional text arrays as PostgreSQL reads them ({@code array_in} with the default delimiter, and
 * {@code array_recv}): {@code '{"dbname=mydb host=node2", node3}'}, optional dimension decoration
 * {@code [1:2]={...}}, double-quoted elements with backslash escapes, unquoted elements trimmed, unquoted
 * {@code NULL} as SQL NULL. Pure.
 */
public final class PgArrays {
    private PgArrays() {
    }

    /** Parses an array literal; throws IllegalArgumentException with PostgreSQL's wording when malformed. */
    public static List<String> parse(String literal) {
        int i = skipSpace(literal, 0);
        if (i < literal.length() && literal.charAt(i) == '[') {
            // dimension decoration: [lo:hi]... = {...}; only its shape is checked
            while (i < literal.length() && literal.charAt(i) == '[') {
                int close = literal.indexOf(']', i);
                if (close < 0) {
                    throw malformed(literal, "Missing \"]\" after array dimensions.");
                }
                i = close + 1;
            }
            i = skipSpace(literal, i);
            if (i >= literal.length() || literal.charAt(i) != '=') {
                throw malformed(literal, "Missing \"=\" after array dimensions.");
            }
            i = skipSpace(literal, i + 1);
        }
        if (i >= literal.length() || literal.charAt(i) != '{') {
            throw malformed(literal, "Array value must start with \"{\" or dimension information.");
        }
        i = skipSpace(literal, i + 1);
        List<String> out = new ArrayList<>();
        if (i < literal.length() && literal.charAt(i) == '}') {
            return endOfLiteral(literal, i + 1, out);
        }
        StringBuilder b = new StringBuilder();
        while (true) {
            i = skipSpace(literal, i);
            if (i >= literal.length()) {
                throw malformed(literal, "Unexpected end of input.");
            }
            char c = literal.charAt(i);
            if (c == '{') {
                throw malformed(literal, "Only one-dimensional arrays are accepted here.");
            }
            b.setLength(0);
            if (c == '"') {
                i++;
                while (true) {
                    if (i >= literal.length()) {
                        throw malformed(literal, "Unexpected end of input.");
                    }
                    char d = literal.charAt(i++);
                    if (d == '\\') {
                        if (i >= literal.length()) {
                            throw malformed(literal, "Unexpected end of input.");
                        }
                        b.append(literal.charAt(i++));
                    } else if (d == '"') {
                        break;
                    } else {
                        b.append(d);
                    }
                }
                out.add(b.toString());
                i = skipSpace(literal, i);
            } else {
                boolean escaped = false;
                int keep = 0; // length of b that must survive trimming (ends with an escaped char)
                while (i < literal.length()) {
                    char d = literal.charAt(i);
                    if (d == ',' || d == '}') {
                        break;
                    }
                    if (d == '"' || d == '{') {
                        throw malformed(literal, "Unexpected \"" + d + "\" character.");
                    }
                    i++;
                    if (d == '\\') {
                        if (i >= literal.length()) {
                            throw malformed(literal, "Unexpected end of input.");
                        }
                        b.append(literal.charAt(i++));
                        escaped = true;
                        keep = b.length();
                    } else {
                        b.append(d);
                    }
                }
                int len = b.length();
                while (len > keep && isSpace(b.charAt(len - 1))) {
                    len--;
                }
                b.setLength(len);
                if (len == 0 && !escaped) {
                    throw malformed(literal, "Unexpected \"" + (i < literal.length() ? literal.charAt(i) : ' ')
                            + "\" character.");
                }
                out.add(!escaped && b.toString().equalsIgnoreCase("NULL") ? null : b.toString());
            }
            if (i >= literal.length()) {
                throw malformed(literal, "Unexpected end of input.");
            }
            char sep = literal.charAt(i++);
            if (sep == '}') {
                return endOfLiteral(literal, i, out);
            }
            if (sep != ',') {
                throw malformed(literal, "Unexpected \"" + sep + "\" character.");
            }
        }
    }

    /** A 1-D array in PostgreSQL's binary format ({@code array_send}) of text-like elements. */
    public static List<String> decodeBinary(byte[] value) {
        try {
            ByteBuffer b = ByteBuffer.wrap(value);
            int ndim = b.getInt();
            b.getInt(); // has-nulls flag
            b.getInt(); // element type oid
            if (ndim == 0) {
                return List.of();
            }
            if (ndim != 1) {
                throw new IllegalArgumentException("only one-dimensional arrays are accepted here, got " + ndim
                        + " dimensions");
            }
            int n = b.getInt();
            b.getInt(); // lower bound
            List<String> out = new ArrayList<>(n);
            for (int k = 0; k < n; k++) {
                int len = b.getInt();
                if (len < 0) {
                    out.add(null);
                } else {
                    byte[] e = new byte[len];
                    b.get(e);
                    out.add(new String(e, StandardCharsets.UTF_8));
                }
            }
            return out;
        } catch (java.nio.BufferUnderflowException | NegativeArraySizeException e) {
            throw new IllegalArgumentException("invalid binary array value of " + value.length + " bytes", e);
        }
    }

    private static List<String> endOfLiteral(String literal, int i, List<String> out) {
        if (skipSpace(literal, i) != literal.length()) {
            throw malformed(literal, "Junk after closing right brace.");
        }
        return out;
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && isSpace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0B;
    }

    private static IllegalArgumentException malformed(String literal, String detail) {
        return new IllegalArgumentException("malformed array literal: \"" + literal + "\" (" + detail + ")");
    }
}
