package org.mtm.gateway.internal.sql;

/**
 * One lexical token of a statement, as {@link SqlSplitter} reads PostgreSQL's lexer rules: its type and its
 * character range {@code [start, end)} in the query text. {@code prefix} tells a string's flavour: 0 for
 * {@code '...'}, {@code E}, {@code B} (also X), {@code N}, {@code U} (U&amp;'...') or {@code $} (dollar quoted).
 */
public record SqlToken(Type type, int start, int end, char prefix) {

    public enum Type { WORD, IDENT, STRING, PARAM, NUMBER, SEMI, LPAREN, RPAREN, OP }

    /** Whether this is the unquoted word {@code lowerCaseWord} (ASCII case-insensitive). */
    public boolean isWord(CharSequence text, String lowerCaseWord) {
        return type == Type.WORD && SqlSplitter.equalsIgnoreCase(text, start, end, lowerCaseWord);
    }

    /** Whether this is the one-character operator {@code c} (the lexer returns each operator character alone). */
    public boolean isOp(CharSequence text, char c) {
        return type == Type.OP && end == start + 1 && text.charAt(start) == c;
    }

    /** An identifier's name as PostgreSQL resolves it: unquoted words folded to lower case, quotes removed. */
    public String name(CharSequence text) {
        if (type == Type.IDENT) {
            int from = text.charAt(start) == '"' ? start + 1 : start + 3; // "x" or U&"x"
            StringBuilder b = new StringBuilder(end - from);
            for (int i = from; i < end - 1; i++) {
                char c = text.charAt(i);
                b.append(c);
                if (c == '"') {
                    i++; // "" stands for one quote
                }
            }
            return b.toString();
        }
        StringBuilder b = new StringBuilder(end - start);
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            b.append(c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c);
        }
        return b.toString();
    }

    /** The token exactly as written. */
    public String text(CharSequence text) {
        return text.subSequence(start, end).toString();
    }
}
