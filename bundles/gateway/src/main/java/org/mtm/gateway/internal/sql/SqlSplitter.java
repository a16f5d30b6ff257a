package org.mtm.gateway.internal.sql;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a simple-query string into statements and classifies each one for transaction control.
 *
 * <p>Tokens follow PostgreSQL's lexer ({@code scan.l}): {@code --} and nested {@code /* *}{@code /} comments,
 * {@code '...'} strings with {@code ''} doubling (backslash escapes too when {@code standard_conforming_strings}
 * is off), {@code E'...'}, {@code U&'...'}, {@code B'}/{@code X'}/{@code N'} strings, {@code "..."} identifiers,
 * dollar quoting {@code $tag$...$tag$}, parameters {@code $1}, identifiers that contain {@code $}.
 * Statements end at a semicolon outside parentheses and outside the {@code BEGIN ATOMIC ... END} body of a
 * {@code CREATE [OR REPLACE] FUNCTION|PROCEDURE} (psql's rule, tightened to count only {@code BEGIN ATOMIC}).
 *
 * <p>The input's chars are the bytes of the client encoding (see {@code Latin1View}): everything this
 * class looks at is ASCII, and every client encoding keeps ASCII bytes as themselves in lead position.
 * (Encodings such as SJIS reuse 0x5C — backslash — as a trailing byte; with those, an {@code E''} string
 * can be mis-split here exactly as it would be by a byte-oriented client tool.)
 *
 * <p>Pure: no I/O, not thread-safe (one instance per call, see {@link #split}).
 */
public final class SqlSplitter {
    private static final int MAX_HEAD = 16;

    /** The lexer's token types, plus the end of input. */
    private enum Tok { WORD, IDENT, STRING, PARAM, NUMBER, SEMI, LPAREN, RPAREN, OP, EOF }

    private final CharSequence s;
    private final int len;
    private final boolean standardStrings;
    private int pos;

    private Tok tok;
    private int tokStart;
    private char strPrefix;

    // The first tokens of the current statement, kept for classification.
    private final Tok[] headTok = new Tok[MAX_HEAD];
    private final int[] headStart = new int[MAX_HEAD];
    private final int[] headEnd = new int[MAX_HEAD];
    private final char[] headPrefix = new char[MAX_HEAD];
    private int headCount;

    private SqlSplitter(CharSequence s, boolean standardStrings) {
        this(s, 0, s.length(), standardStrings);
    }

    private SqlSplitter(CharSequence s, int from, int to, boolean standardStrings) {
        this.s = s;
        this.pos = from;
        this.len = to;
        this.standardStrings = standardStrings;
    }

    /** All statements of {@code sql}; a blank or comment-only string yields one {@link StatementKind#EMPTY}. */
    public static List<SqlStatement> split(CharSequence sql, boolean standardConformingStrings) {
        return new SqlSplitter(sql, standardConformingStrings).splitAll();
    }

    /**
     * The statement an extended-protocol Parse carries (PostgreSQL refuses more than one there): the first
     * non-empty statement, or EMPTY.
     */
    public static SqlStatement classifyOne(CharSequence sql, boolean standardConformingStrings) {
        for (SqlStatement st : split(sql, standardConformingStrings)) {
            if (st.kind() != StatementKind.EMPTY) {
                return st;
            }
        }
        return new SqlStatement(0, sql.length(), StatementKind.EMPTY);
    }

    /**
     * The tokens of {@code sql[from, to)} (comments and whitespace skipped, semicolons included), for the
     * classifiers that look past a statement's first words ({@link DdlClassifier}, {@link SurfaceCalls}).
     */
    public static List<SqlToken> tokens(CharSequence sql, int from, int to, boolean standardConformingStrings) {
        SqlSplitter lexer = new SqlSplitter(sql, from, to, standardConformingStrings);
        List<SqlToken> out = new ArrayList<>();
        while (true) {
            lexer.next();
            if (lexer.tok == Tok.EOF) {
                return out;
            }
            out.add(new SqlToken(SqlToken.Type.valueOf(lexer.tok.name()), lexer.tokStart, lexer.pos, lexer.strPrefix));
        }
    }

    /**
     * The value of the string literal {@code tokens[i]}, joined with the literals that continue it (PostgreSQL
     * concatenates quoted strings separated only by whitespace with a newline); {@code next[0]} is set to the
     * index after the last one used. Chars are read back as UTF-8 where they form it (see {@link Latin1View}).
     */
    public static String stringValue(CharSequence sql, List<SqlToken> tokens, int i, boolean standardConformingStrings,
                                     int[] next) {
        SqlSplitter d = new SqlSplitter(sql, standardConformingStrings);
        StringBuilder b = new StringBuilder();
        SqlToken t = tokens.get(i);
        d.decodeString(t.start(), t.end(), t.prefix(), b);
        while (i + 1 < tokens.size() && tokens.get(i + 1).type() == SqlToken.Type.STRING && tokens.get(i + 1).prefix() == 0
                && tokens.get(i).prefix() != '$' && d.continues(tokens.get(i).end(), tokens.get(i + 1).start())) {
            i++;
            d.decodeString(tokens.get(i).start(), tokens.get(i).end(), tokens.get(i).prefix(), b);
        }
        if (next != null) {
            next[0] = i + 1;
        }
        return reinterpretUtf8(b);
    }

    private List<SqlStatement> splitAll() {
        List<SqlStatement> out = new ArrayList<>(2);
        int stmtStart = 0;
        int tokens = 0;
        int parenDepth = 0;
        int atomicDepth = 0;
        // psql-style detection of CREATE [OR REPLACE] FUNCTION|PROCEDURE from the first words
        char[] words = new char[4];
        int wordCount = 0;
        boolean previousWasBegin = false;
        // for the replication classification: SELECT ... INTO (a CREATE TABLE AS) and references to mtm.<name>
        boolean selectLike = false;
        boolean previousWasInsert = false;
        int intoAt = -1;
        boolean mtmNamed = false;
        int mtmWordEnd = -1;
        // a call of setval( anywhere in the statement (SetvalCalls looks closer)
        boolean setvalCalled = false;
        boolean previousWasSetval = false;
        // whether a select-like statement reads only, as far as its words and calls show (ReadOnlyQueries)
        boolean readsOnly = true;
        Tok previous = null;
        int previousStart = 0;
        int previousEnd = 0;
        while (true) {
            next();
            if (tok == Tok.EOF) {
                if (tokens > 0) {
                    out.add(classify(stmtStart, len, intoAt, mtmNamed, setvalCalled, readsOnly));
                } else if (out.isEmpty()) {
                    out.add(new SqlStatement(0, len, StatementKind.EMPTY));
                }
                return out;
            }
            if (tok == Tok.SEMI && parenDepth == 0 && atomicDepth == 0) {
                out.add(tokens > 0 ? classify(stmtStart, pos, intoAt, mtmNamed, setvalCalled, readsOnly)
                        : new SqlStatement(stmtStart, pos, StatementKind.EMPTY));
                stmtStart = pos;
                tokens = 0;
                headCount = 0;
                wordCount = 0;
                words[0] = words[1] = words[2] = words[3] = 0;
                previousWasBegin = false;
                selectLike = false;
                previousWasInsert = false;
                intoAt = -1;
                mtmNamed = false;
                setvalCalled = false;
                previousWasSetval = false;
                readsOnly = true;
                previous = null;
                continue;
            }
            tokens++;
            if (readsOnly) {
                if (tok == Tok.WORD) {
                    readsOnly = !ReadOnlyQueries.writingWord(s, tokStart, pos);
                } else if (tok == Tok.LPAREN) {
                    readsOnly = previous != Tok.IDENT
                            && (previous != Tok.WORD || ReadOnlyQueries.readingCall(s, previousStart, previousEnd));
                }
                previous = tok;
                previousStart = tokStart;
                previousEnd = pos;
            }
            setvalCalled |= previousWasSetval && tok == Tok.LPAREN;
            previousWasSetval = tok == Tok.WORD && pos - tokStart == 6 && is(tokStart, pos, "setval");
            if (tokens == 1) {
                selectLike = tok == Tok.LPAREN || (tok == Tok.WORD && (is(tokStart, pos, "select") || is(tokStart, pos, "with")
                        || is(tokStart, pos, "table") || is(tokStart, pos, "values") || is(tokStart, pos, "explain")));
            }
            if (tok == Tok.WORD) {
                if (selectLike && parenDepth == 0 && intoAt < 0 && !previousWasInsert && is(tokStart, pos, "into")) {
                    intoAt = tokStart;
                }
                previousWasInsert = is(tokStart, pos, "insert") || is(tokStart, pos, "merge");
                if (pos - tokStart == 3 && is(tokStart, pos, "mtm")) {
                    mtmWordEnd = pos;
                }
            } else if (tok == Tok.OP && tokStart == mtmWordEnd && s.charAt(tokStart) == '.') {
                mtmNamed = true;
            }
            if (headCount < MAX_HEAD) {
                headTok[headCount] = tok;
                headStart[headCount] = tokStart;
                headEnd[headCount] = pos;
                headPrefix[headCount] = strPrefix;
                headCount++;
            }
            switch (tok) {
                case LPAREN -> parenDepth++;
                case RPAREN -> parenDepth = Math.max(0, parenDepth - 1);
                case WORD -> {
                    if (wordCount < 4) {
                        words[wordCount] = routineWordCode(tokStart, pos);
                    }
                    wordCount++;
                    boolean routine = words[0] == 'c'
                            && (words[1] == 'f' || words[1] == 'p'
                                || (words[1] == 'o' && words[2] == 'r' && (words[3] == 'f' || words[3] == 'p')));
                    if (routine && parenDepth == 0) {
                        if (previousWasBegin && is(tokStart, pos, "atomic")) {
                            atomicDepth++;
                        } else if (atomicDepth > 0 && is(tokStart, pos, "case")) {
                            atomicDepth++;
                        } else if (atomicDepth > 0 && is(tokStart, pos, "end")) {
                            atomicDepth--;
                        }
                    }
                    previousWasBegin = is(tokStart, pos, "begin");
                    continue;
                }
                default -> { }
            }
            previousWasBegin = false;
        }
    }

    private char routineWordCode(int from, int to) {
        if (is(from, to, "create")) {
            return 'c';
        }
        if (is(from, to, "function")) {
            return 'f';
        }
        if (is(from, to, "procedure")) {
            return 'p';
        }
        if (is(from, to, "or")) {
            return 'o';
        }
        if (is(from, to, "replace")) {
            return 'r';
        }
        return '?';
    }

    // ---------------------------------------------------------------- classification

    private SqlStatement classify(int start, int end, int intoAt, boolean mtmNamed, boolean setvalCalled,
                                  boolean readsOnly) {
        StatementKind kind = StatementKind.OTHER;
        String gid = null;
        if (headCount > 0 && headTok[0] == Tok.WORD) {
            switch (lowerWord(0)) {
                case "begin" -> kind = StatementKind.BEGIN;
                case "start" -> kind = word(1, "transaction") ? StatementKind.BEGIN : StatementKind.OTHER;
                case "commit" -> {
                    if (word(1, "prepared")) {
                        kind = StatementKind.COMMIT_PREPARED;
                        gid = stringAt(2);
                    } else {
                        kind = chained(1) ? StatementKind.COMMIT_AND_CHAIN : StatementKind.COMMIT;
                    }
                }
                case "end" -> kind = chained(1) ? StatementKind.COMMIT_AND_CHAIN : StatementKind.COMMIT;
                case "abort" -> kind = chained(1) ? StatementKind.ROLLBACK_AND_CHAIN : StatementKind.ROLLBACK;
                case "rollback" -> {
                    if (word(1, "prepared")) {
                        kind = StatementKind.ROLLBACK_PREPARED;
                        gid = stringAt(2);
                    } else {
                        int i = word(1, "work") || word(1, "transaction") ? 2 : 1;
                        if (word(i, "to")) {
                            kind = StatementKind.ROLLBACK_TO_SAVEPOINT;
                        } else {
                            kind = chained(1) ? StatementKind.ROLLBACK_AND_CHAIN : StatementKind.ROLLBACK;
                        }
                    }
                }
                case "savepoint" -> kind = StatementKind.SAVEPOINT;
                case "release" -> kind = StatementKind.RELEASE_SAVEPOINT;
                case "prepare" -> {
                    if (word(1, "transaction") && headCount > 2 && headTok[2] == Tok.STRING) {
                        kind = StatementKind.PREPARE_TRANSACTION;
                        gid = stringAt(2);
                    }
                }
                case "call" -> kind = StatementKind.CALL;
                case "copy" -> kind = StatementKind.COPY;
                case "vacuum" -> kind = StatementKind.NON_TRANSACTIONAL;
                case "create" -> {
                    int i = word(1, "unique") ? 2 : 1;
                    if ((word(i, "index") && word(i + 1, "concurrently"))
                            || word(1, "database") || word(1, "tablespace") || word(1, "subscription")) {
                        kind = StatementKind.NON_TRANSACTIONAL;
                    }
                }
                case "drop" -> {
                    if ((word(1, "index") && word(2, "concurrently"))
                            || word(1, "database") || word(1, "tablespace") || word(1, "subscription")) {
                        kind = StatementKind.NON_TRANSACTIONAL;
                    }
                }
                case "reindex" -> {
                    int target = firstWordOutsideParens(1);
                    if (anyWord("concurrently") || word(target, "system") || word(target, "database")) {
                        kind = StatementKind.NON_TRANSACTIONAL;
                    }
                }
                case "alter" -> {
                    if (word(1, "system") || word(1, "subscription")
                            || (word(1, "database") && anyWord("tablespace"))) {
                        kind = StatementKind.NON_TRANSACTIONAL;
                    }
                }
                case "cluster" -> {
                    int i = word(1, "verbose") ? 2 : 1;
                    if (i >= headCount) {
                        kind = StatementKind.NON_TRANSACTIONAL;
                    }
                }
                case "discard" -> {
                    if (word(1, "all")) {
                        kind = StatementKind.NON_TRANSACTIONAL;
                    }
                }
                default -> { }
            }
        }
        Replication replication = replication(start, end, intoAt, mtmNamed);
        if (replication == Replication.ROWS && readsOnly && !setvalCalled && !mtmNamed && intoAt < 0
                && kind == StatementKind.OTHER && selectLikeHead()) {
            replication = Replication.READ;
        }
        if (setvalCalled && replication.reach() == Replication.Reach.ROWS) {
            replication = SetvalCalls.classify(s, tokens(s, start, end, standardStrings));
        }
        int bodyStart = headStart[0];
        headCount = 0;
        return new SqlStatement(start, end, kind, gid, bodyStart, replication);
    }

    /**
     * How the statement reaches the other nodes. Decided from the first word for the frequent statements;
     * DDL and the statements that name {@code mtm.} functions are tokenized again and classified in full.
     */
    private Replication replication(int start, int end, int intoAt, boolean mtmNamed) {
        if (headTok[0] == Tok.LPAREN) {
            return selectLike(start, end, intoAt, mtmNamed);
        }
        if (headTok[0] != Tok.WORD) {
            return Replication.ROWS;
        }
        switch (lowerWord(0)) {
            case "select", "with", "table", "values" -> {
                return selectLike(start, end, intoAt, mtmNamed);
            }
            case "insert", "update", "delete", "merge", "copy", "truncate", "lock", "call", "do", "declare",
                 "execute", "begin", "start", "commit", "end", "abort", "rollback", "savepoint", "release" -> {
                return Replication.ROWS;
            }
            case "deallocate" -> {
                return word(1, "all") || (word(1, "prepare") && word(2, "all")) ? Replication.DISCARDS_PREPARED
                        : Replication.SESSION;
            }
            case "discard" -> {
                return word(1, "all") ? Replication.DISCARDS_PREPARED : Replication.SESSION;
            }
            case "show", "set", "reset" -> {
                return Replication.SESSION;
            }
            case "fetch", "move", "close" -> {
                return Replication.NO_WRITE;
            }
            case "prepare" -> {
                return word(1, "transaction") ? Replication.ROWS : Replication.NO_WRITE;
            }
            case "listen", "unlisten", "notify" -> {
                return Replication.NOTIFY;
            }
            default -> {
                return DdlClassifier.classify(s, tokens(s, start, end, standardStrings));
            }
        }
    }

    /** SELECT, WITH, TABLE, VALUES or a parenthesised query: the statements {@link Replication#READ} may apply to. */
    private boolean selectLikeHead() {
        return headCount > 0 && (headTok[0] == Tok.LPAREN || (headTok[0] == Tok.WORD && (word(0, "select")
                || word(0, "with") || word(0, "table") || word(0, "values"))));
    }

    private Replication selectLike(int start, int end, int intoAt, boolean mtmNamed) {
        if (mtmNamed) {
            Replication surface = SurfaceCalls.classify(s, tokens(s, start, end, standardStrings), standardStrings);
            if (surface != null) {
                return surface;
            }
        }
        if (intoAt >= 0) {
            return DdlClassifier.selectInto(s, tokens(s, start, end, standardStrings));
        }
        return Replication.ROWS;
    }

    /** {@code [WORK|TRANSACTION] AND [NO] CHAIN} starting at head token {@code i}: true for AND CHAIN. */
    private boolean chained(int i) {
        if (word(i, "work") || word(i, "transaction")) {
            i++;
        }
        return word(i, "and") && word(i + 1, "chain");
    }

    private int firstWordOutsideParens(int from) {
        int depth = 0;
        for (int i = from; i < headCount; i++) {
            if (headTok[i] == Tok.LPAREN) {
                depth++;
            } else if (headTok[i] == Tok.RPAREN) {
                depth--;
            } else if (depth == 0 && headTok[i] == Tok.WORD) {
                return i;
            }
        }
        return headCount;
    }

    private boolean anyWord(String w) {
        for (int i = 1; i < headCount; i++) {
            if (word(i, w)) {
                return true;
            }
        }
        return false;
    }

    private boolean word(int i, String w) {
        return i < headCount && headTok[i] == Tok.WORD && is(headStart[i], headEnd[i], w);
    }

    private String lowerWord(int i) {
        int n = headEnd[i] - headStart[i];
        if (n > 12) {
            return "";
        }
        char[] c = new char[n];
        for (int k = 0; k < n; k++) {
            c[k] = Character.toLowerCase(s.charAt(headStart[i] + k));
        }
        return new String(c);
    }

    /** Case-insensitive (ASCII) comparison of {@code s[from, to)} with lower-case {@code w}. */
    private boolean is(int from, int to, String w) {
        return equalsIgnoreCase(s, from, to, w);
    }

    /** Whether {@code s} contains lower-case {@code w}, ASCII case-insensitively (a quick test before tokenizing). */
    static boolean containsIgnoreCase(CharSequence s, String w) {
        for (int i = 0; i + w.length() <= s.length(); i++) {
            if (equalsIgnoreCase(s, i, i + w.length(), w)) {
                return true;
            }
        }
        return false;
    }

    static boolean equalsIgnoreCase(CharSequence s, int from, int to, String w) {
        if (to - from != w.length()) {
            return false;
        }
        for (int k = 0; k < w.length(); k++) {
            char c = s.charAt(from + k);
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != w.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** The value of the string literal at head token {@code i}, with PostgreSQL's newline continuation. */
    private String stringAt(int i) {
        if (i >= headCount || headTok[i] != Tok.STRING) {
            return null;
        }
        StringBuilder b = new StringBuilder();
        decodeString(i, b);
        while (i + 1 < headCount && headTok[i + 1] == Tok.STRING && headPrefix[i + 1] == 0
                && headPrefix[i] != '$' && continues(headEnd[i], headStart[i + 1])) {
            i++;
            decodeString(i, b);
        }
        return reinterpretUtf8(b);
    }

    /** PostgreSQL concatenates two quoted strings separated by whitespace containing a newline. */
    private boolean continues(int from, int to) {
        boolean newline = false;
        for (int k = from; k < to; k++) {
            char c = s.charAt(k);
            if (c == '\n' || c == '\r') {
                newline = true;
            } else if (!isSpace(c)) {
                return false;
            }
        }
        return newline;
    }

    private void decodeString(int i, StringBuilder b) {
        decodeString(headStart[i], headEnd[i], headPrefix[i], b);
    }

    private void decodeString(int from, int to, char prefix, StringBuilder b) {
        if (prefix == '$') {
            int tagEnd = from + 1;
            while (s.charAt(tagEnd) != '$') {
                tagEnd++;
            }
            int tagLen = tagEnd + 1 - from;
            int bodyEnd = Math.max(tagEnd + 1, to - tagLen);
            b.append(s, tagEnd + 1, bodyEnd);
            return;
        }
        int k = from;
        while (s.charAt(k) != '\'') {
            k++; // skip the E / U& / B / X / N prefix
        }
        k++;
        boolean backslashes = prefix == 'E' || (prefix == 0 && !standardStrings) || (prefix == 'N' && !standardStrings);
        while (k < to) {
            char c = s.charAt(k);
            if (c == '\'') {
                if (k + 1 < to && s.charAt(k + 1) == '\'') {
                    b.append('\'');
                    k += 2;
                    continue;
                }
                return;
            }
            if (c == '\\' && backslashes && k + 1 < to) {
                k = unescape(k + 1, to, b);
                continue;
            }
            if (c == '\\' && prefix == 'U' && k + 1 < to) {
                k = unicodeEscape(k + 1, to, b);
                continue;
            }
            b.append(c);
            k++;
        }
    }

    /** Backslash escape of an E'' string starting after the backslash; returns the index after it. */
    private int unescape(int k, int to, StringBuilder b) {
        char c = s.charAt(k);
        switch (c) {
            case 'b' -> b.append('\b');
            case 'f' -> b.append('\f');
            case 'n' -> b.append('\n');
            case 'r' -> b.append('\r');
            case 't' -> b.append('\t');
            case 'x' -> {
                int end = k + 1;
                while (end < to && end < k + 3 && Character.digit(s.charAt(end), 16) >= 0) {
                    end++;
                }
                if (end == k + 1) {
                    b.append('x');
                    return k + 1;
                }
                b.append((char) Integer.parseInt(s.subSequence(k + 1, end).toString(), 16));
                return end;
            }
            case 'u', 'U' -> {
                int digits = c == 'u' ? 4 : 8;
                if (k + 1 + digits <= to) {
                    try {
                        int cp = Integer.parseInt(s.subSequence(k + 1, k + 1 + digits).toString(), 16);
                        b.appendCodePoint(cp);
                        return k + 1 + digits;
                    } catch (IllegalArgumentException e) {
                        // not an escape: keep the letter as PostgreSQL would reject it anyway
                    }
                }
                b.append(c);
            }
            default -> {
                if (c >= '0' && c <= '7') {
                    int end = k;
                    while (end < to && end < k + 3 && s.charAt(end) >= '0' && s.charAt(end) <= '7') {
                        end++;
                    }
                    b.append((char) Integer.parseInt(s.subSequence(k, end).toString(), 8));
                    return end;
                }
                b.append(c);
            }
        }
        return k + 1;
    }

    /** {@code \XXXX}, {@code \+XXXXXX} or {@code \\} in a U&'' string (default escape character only). */
    private int unicodeEscape(int k, int to, StringBuilder b) {
        char c = s.charAt(k);
        if (c == '\\') {
            b.append('\\');
            return k + 1;
        }
        int start = c == '+' ? k + 1 : k;
        int digits = c == '+' ? 6 : 4;
        if (start + digits <= to) {
            try {
                b.appendCodePoint(Integer.parseInt(s.subSequence(start, start + digits).toString(), 16));
                return start + digits;
            } catch (IllegalArgumentException e) {
                // fall through: keep the backslash literally
            }
        }
        b.append('\\');
        return k;
    }

    /** Chars from a byte view are bytes: read them back as UTF-8 when they form valid UTF-8. */
    private static String reinterpretUtf8(StringBuilder b) {
        byte[] bytes = new byte[b.length()];
        boolean nonAscii = false;
        for (int k = 0; k < b.length(); k++) {
            char c = b.charAt(k);
            if (c > 0xFF) {
                return b.toString();
            }
            nonAscii |= c > 0x7F;
            bytes[k] = (byte) c;
        }
        if (!nonAscii) {
            return b.toString();
        }
        try {
            CharBuffer decoded = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            return decoded.toString();
        } catch (CharacterCodingException e) {
            return b.toString();
        }
    }

    // ---------------------------------------------------------------- tokens

    private void next() {
        skipSpaceAndComments();
        strPrefix = 0;
        tokStart = pos;
        if (pos >= len) {
            tok = Tok.EOF;
            return;
        }
        char c = s.charAt(pos);
        if (identStart(c)) {
            char n1 = peek(1);
            if ((c == 'e' || c == 'E') && n1 == '\'') {
                pos++;
                scanString(true);
                strPrefix = 'E';
                tok = Tok.STRING;
            } else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X') && n1 == '\'') {
                pos++;
                scanString(false);
                strPrefix = 'B';
                tok = Tok.STRING;
            } else if ((c == 'n' || c == 'N') && n1 == '\'') {
                pos++;
                scanString(!standardStrings);
                strPrefix = 'N';
                tok = Tok.STRING;
            } else if ((c == 'u' || c == 'U') && n1 == '&' && (peek(2) == '\'' || peek(2) == '"')) {
                pos += 2;
                if (s.charAt(pos) == '\'') {
                    scanString(false);
                    strPrefix = 'U';
                    tok = Tok.STRING;
                } else {
                    scanQuotedIdent();
                    tok = Tok.IDENT;
                }
            } else {
                pos++;
                while (pos < len && identCont(s.charAt(pos))) {
                    pos++;
                }
                tok = Tok.WORD;
            }
        } else if (c == '"') {
            scanQuotedIdent();
            tok = Tok.IDENT;
        } else if (c == '\'') {
            scanString(!standardStrings);
            tok = Tok.STRING;
        } else if (c == '$') {
            if (isDigit(peek(1))) {
                pos++;
                while (pos < len && isDigit(s.charAt(pos))) {
                    pos++;
                }
                tok = Tok.PARAM;
            } else {
                int tagEnd = dollarTagEnd(pos);
                if (tagEnd > 0) {
                    scanDollarBody(pos, tagEnd);
                    strPrefix = '$';
                    tok = Tok.STRING;
                } else {
                    pos++;
                    tok = Tok.OP;
                }
            }
        } else if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
            pos++;
            while (pos < len) {
                char d = s.charAt(pos);
                if (isDigit(d) || d == '.' || d == '_' || (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z')) {
                    pos++;
                } else if ((d == '+' || d == '-') && (s.charAt(pos - 1) == 'e' || s.charAt(pos - 1) == 'E')) {
                    pos++;
                } else {
                    break;
                }
            }
            tok = Tok.NUMBER;
        } else {
            pos++;
            tok = switch (c) {
                case ';' -> Tok.SEMI;
                case '(' -> Tok.LPAREN;
                case ')' -> Tok.RPAREN;
                default -> Tok.OP;
            };
        }
    }

    private void skipSpaceAndComments() {
        while (pos < len) {
            char c = s.charAt(pos);
            if (isSpace(c)) {
                pos++;
            } else if (c == '-' && peek(1) == '-') {
                pos += 2;
                while (pos < len && s.charAt(pos) != '\n' && s.charAt(pos) != '\r') {
                    pos++;
                }
            } else if (c == '/' && peek(1) == '*') {
                pos += 2;
                int depth = 1;
                while (pos < len && depth > 0) {
                    char d = s.charAt(pos);
                    if (d == '/' && peek(1) == '*') {
                        depth++;
                        pos += 2;
                    } else if (d == '*' && peek(1) == '/') {
                        depth--;
                        pos += 2;
                    } else {
                        pos++;
                    }
                }
            } else {
                return;
            }
        }
    }

    /** From the opening quote at {@code pos}; an unterminated string runs to the end. */
    private void scanString(boolean backslashEscapes) {
        pos++;
        while (pos < len) {
            char c = s.charAt(pos);
            if (c == '\\' && backslashEscapes) {
                pos += 2;
            } else if (c == '\'') {
                if (peek(1) == '\'') {
                    pos += 2;
                } else {
                    pos++;
                    return;
                }
            } else {
                pos++;
            }
        }
        pos = len;
    }

    private void scanQuotedIdent() {
        pos++;
        while (pos < len) {
            if (s.charAt(pos) == '"') {
                if (peek(1) == '"') {
                    pos += 2;
                } else {
                    pos++;
                    return;
                }
            } else {
                pos++;
            }
        }
    }

    /** If a dollar-quote delimiter {@code $tag$} starts at {@code at}, the index after it, else -1. */
    private int dollarTagEnd(int at) {
        int i = at + 1;
        if (i < len && dollarTagStart(s.charAt(i))) {
            i++;
            while (i < len && (dollarTagStart(s.charAt(i)) || isDigit(s.charAt(i)))) {
                i++;
            }
        }
        return i < len && s.charAt(i) == '$' ? i + 1 : -1;
    }

    private void scanDollarBody(int tagStart, int tagEnd) {
        int tagLen = tagEnd - tagStart;
        for (int i = tagEnd; i + tagLen <= len; i++) {
            if (s.charAt(i) == '$' && regionEquals(i, tagStart, tagLen)) {
                pos = i + tagLen;
                return;
            }
        }
        pos = len;
    }

    private boolean regionEquals(int a, int b, int n) {
        for (int k = 0; k < n; k++) {
            if (s.charAt(a + k) != s.charAt(b + k)) {
                return false;
            }
        }
        return true;
    }

    private char peek(int ahead) {
        return pos + ahead < len ? s.charAt(pos + ahead) : 0;
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0B;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean identStart(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }

    private static boolean identCont(char c) {
        return identStart(c) || isDigit(c) || c == '$';
    }

    private static boolean dollarTagStart(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }
}
