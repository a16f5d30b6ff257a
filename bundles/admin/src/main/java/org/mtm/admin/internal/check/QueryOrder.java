package org.mtm.admin.internal.check;

/**
 * Whether a query orders its rows: an {@code ORDER BY} at its top level, outside parentheses, string literals, quoted
 * identifiers, dollar-quoted bodies and comments. Without one, PostgreSQL may return the same rows in another order on
 * each node, so their comparison must ignore the order. Pure.
 */
public final class QueryOrder {
    private QueryOrder() {
    }

    public static boolean ordersRows(String sql) {
        int depth = 0;
        String previousWord = null;
        int i = 0;
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
                i = endOf(sql, "\n", i + 2);
            } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
                i = endOfBlockComment(sql, i + 2);
            } else if (c == '\'') {
                i = endOfQuoted(sql, '\'', i + 1);
                previousWord = null;
            } else if (c == '"') {
                i = endOfQuoted(sql, '"', i + 1);
                previousWord = null;
            } else if (c == '$' && dollarTag(sql, i) != null) {
                String tag = dollarTag(sql, i);
                i = endOf(sql, tag, i + tag.length());
                previousWord = null;
            } else if (c == '(') {
                depth++;
                i++;
                previousWord = null;
            } else if (c == ')') {
                depth--;
                i++;
                previousWord = null;
            } else if (Character.isLetter(c) || c == '_') {
                int start = i;
                while (i < n && (Character.isLetterOrDigit(sql.charAt(i)) || sql.charAt(i) == '_' || sql.charAt(i) == '$')) {
                    i++;
                }
                String word = sql.substring(start, i).toLowerCase(java.util.Locale.ROOT);
                if (depth == 0 && "by".equals(word) && "order".equals(previousWord)) {
                    return true;
                }
                previousWord = word;
            } else {
                if (!Character.isWhitespace(c)) {
                    previousWord = null;
                }
                i++;
            }
        }
        return false;
    }

    private static int endOf(String sql, String end, int from) {
        int at = sql.indexOf(end, from);
        return at < 0 ? sql.length() : at + end.length();
    }

    private static int endOfBlockComment(String sql, int from) {
        int depth = 1;
        int i = from;
        while (i < sql.length() && depth > 0) {
            if (sql.startsWith("/*", i)) {
                depth++;
                i += 2;
            } else if (sql.startsWith("*/", i)) {
                depth--;
                i += 2;
            } else {
                i++;
            }
        }
        return i;
    }

    /** After the closing quote; a doubled quote is part of the text. */
    private static int endOfQuoted(String sql, char quote, int from) {
        int i = from;
        while (i < sql.length()) {
            if (sql.charAt(i) == quote) {
                if (i + 1 < sql.length() && sql.charAt(i + 1) == quote) {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return i;
    }

    /** {@code $tag$} or {@code $$} starting at {@code i}, or null ({@code $1} is a parameter). */
    private static String dollarTag(String sql, int i) {
        int j = i + 1;
        while (j < sql.length() && (Character.isLetterOrDigit(sql.charAt(j)) || sql.charAt(j) == '_')) {
            j++;
        }
        if (j < sql.length() && sql.charAt(j) == '$' && (j == i + 1 || !Character.isDigit(sql.charAt(i + 1)))) {
            return sql.substring(i, j + 1);
        }
        return null;
    }
}
