package org.mtm.itests.harness.regress;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The output of {@code psql -a} for one script, cut at the script's echoed lines: {@code answer(k)} is what psql
 * printed after echoing line {@code k} (1-based) and before echoing the next one, i.e. the server's answer to the
 * statement that line ended (empty for lines that end nothing, and for statements that print nothing under
 * {@code -q}). {@code answer(0)} is what came before the first echo (a connection error, say).
 *
 * <p>psql echoes every line its main loop reads, except: empty lines (dropped before the echo, unless inside a quoted
 * string: such an echo then counts as part of the previous line's answer, alike on both sides); the lines read while
 * {@code \set ECHO} is not "all" (up to and including {@code \set ECHO all}); and the data lines of a
 * {@code COPY ... FROM stdin} once the server started the copy (read by the copy, up to {@code \.}). Whether a copy
 * started is the server's answer (a COPY refused at parse time leaves its data lines to be read, and echoed, as SQL), so
 * those lines <em>may</em> be echoed: they match when they appear, and are passed over when the next line does.
 */
public final class PsqlTranscript {
    /** Whether psql echoes a script line. */
    enum Echo { ALWAYS, MAYBE, NEVER }

    /** A statement end: a line ending with ';', possibly followed by a "--" comment. */
    private static final Pattern STATEMENT_END = Pattern.compile(";\\s*(--.*)?$");
    /** COPY accepts STDOUT as well as STDIN after FROM. */
    private static final Pattern FROM_STDIN = Pattern.compile("(?i)\\bfrom\\s+std(in|out)\\b");
    private static final Pattern COPY = Pattern.compile("(?i)(^|[\\s;(\\\\])copy\\b");
    /** {@code \set ECHO x}: only "all" echoes every line read. */
    private static final Pattern SET_ECHO = Pattern.compile("\\\\set\\s+ECHO\\s+(\\w+)\\s*");
    /** An echo glued to output printed without a newline ({@code \echo -n}) is found at the end of a line this long. */
    private static final int GLUED_ECHO_MIN = 6;

    private final List<String> script;
    private final List<String> answers;
    private final int echoed;
    private final int expectedEchoes;

    private PsqlTranscript(List<String> script, List<String> answers, int echoed, int expectedEchoes) {
        this.script = script;
        this.answers = answers;
        this.echoed = echoed;
        this.expectedEchoes = expectedEchoes;
    }

    /** Cuts {@code output} (psql's stdout and stderr together, as pg_regress takes them) at the echoes of {@code script}. */
    public static PsqlTranscript of(String script, String output) {
        List<String> lines = script.lines().toList();
        Echo[] echo = echoOf(lines);
        List<StringBuilder> parts = new ArrayList<>();
        for (int i = 0; i <= lines.size(); i++) {
            parts.add(new StringBuilder());
        }
        int next = 0;
        int current = 0;
        int echoed = 0;
        for (String line : output.lines().toList()) {
            int match = -1;
            boolean glued = false;
            // the next line psql echoes for certain, or one of the lines before it that it may echo
            for (int j = next; j < lines.size(); j++) {
                if (echo[j] == Echo.NEVER) {
                    continue;
                }
                String expected = lines.get(j);
                if (line.equals(expected)) {
                    match = j;
                } else if (echo[j] == Echo.ALWAYS && expected.length() >= GLUED_ECHO_MIN && line.endsWith(expected)) {
                    match = j;
                    glued = true;
                }
                if (match >= 0 || echo[j] == Echo.ALWAYS) {
                    break;
                }
            }
            if (match < 0) {
                parts.get(current).append(line).append('\n');
                continue;
            }
            if (glued) {
                parts.get(current).append(line, 0, line.length() - lines.get(match).length()).append('\n');
            }
            current = match + 1;
            echoed++;
            next = match + 1;
        }
        int expected = 0;
        for (Echo e : echo) {
            expected += e == Echo.ALWAYS ? 1 : 0;
        }
        return new PsqlTranscript(lines, parts.stream().map(StringBuilder::toString).toList(), echoed, expected);
    }

    /** How psql echoes each script line (see the class comment). */
    static Echo[] echoOf(List<String> lines) {
        Echo[] echo = new Echo[lines.size()];
        StringBuilder statement = new StringBuilder();
        boolean echoAll = true;
        int i = 0;
        while (i < lines.size()) {
            String line = lines.get(i);
            echo[i] = echoAll && !line.isEmpty() ? Echo.ALWAYS : Echo.NEVER;
            i++;
            Matcher setEcho = SET_ECHO.matcher(line);
            if (setEcho.matches()) {
                echoAll = setEcho.group(1).equals("all");
            }
            int copies = 0;
            if (line.startsWith("\\copy")) {
                copies = FROM_STDIN.matcher(line).find() ? 1 : 0;
                statement.setLength(0);
            } else if (!line.startsWith("\\")) {
                statement.append(line).append('\n');
                if (STATEMENT_END.matcher(line).find()) {
                    String text = statement.toString();
                    statement.setLength(0);
                    if (COPY.matcher(text).find()) {
                        copies = count(FROM_STDIN.matcher(text));
                    }
                }
            }
            for (int c = 0; c < copies && i < lines.size(); c++) {
                int end = i;
                while (end < lines.size() && !lines.get(end).equals("\\.")) {
                    end++;
                }
                if (end == lines.size()) {
                    break; // no "\." follows: no data lines (the COPY must have failed)
                }
                for (; i <= end; i++) {
                    echo[i] = echoAll && !lines.get(i).isEmpty() ? Echo.MAYBE : Echo.NEVER;
                }
            }
        }
        return echo;
    }

    private static int count(Matcher matcher) {
        int n = 0;
        while (matcher.find()) {
            n++;
        }
        return n;
    }

    /** What psql printed after echoing script line {@code line} (1-based; 0: before the first echo). */
    public String answer(int line) {
        return answers.get(line);
    }

    /** Number of script lines. */
    public int lines() {
        return script.size();
    }

    /** Script line {@code line} (1-based). */
    public String scriptLine(int line) {
        return script.get(line - 1);
    }

    /** How many script lines were found echoed in the output (at least all certain ones when psql read the whole script). */
    public int echoed() {
        return echoed;
    }

    /** How many script lines psql echoes for certain. */
    public int expectedEchoes() {
        return expectedEchoes;
    }
}
