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
 * <p>psql echoes every line its main loop reads except empty ones (it drops them before echoing, unless inside a
 * quoted string: such an echo is then taken as part of the previous line's answer, alike on both sides) and the data
 * lines of {@code COPY ... FROM stdin} (read by the copy, up to the {@code \.} line; when the copy is refused before it
 * starts, psql discards them as well).
 */
public final class PsqlTranscript {
    /** A statement end: a line ending with ';', possibly followed by a "--" comment. */
    private static final Pattern STATEMENT_END = Pattern.compile(";\\s*(--.*)?$");
    private static final Pattern FROM_STDIN = Pattern.compile("(?i)\\bfrom\\s+stdin\\b");
    private static final Pattern COPY = Pattern.compile("(?i)(^|[\\s;(\\\\])copy\\b");

    private final List<String> script;
    private final List<String> answers;
    private final int echoed;

    private PsqlTranscript(List<String> script, List<String> answers, int echoed) {
        this.script = script;
        this.answers = answers;
        this.echoed = echoed;
    }

    /** Cuts {@code output} (psql's stdout and stderr together, as pg_regress takes them) at the echoes of {@code script}. */
    public static PsqlTranscript of(String script, String output) {
        List<String> lines = script.lines().toList();
        boolean[] echoExpected = echoedLines(lines);
        List<StringBuilder> parts = new ArrayList<>();
        for (int i = 0; i <= lines.size(); i++) {
            parts.add(new StringBuilder());
        }
        int next = nextEchoed(echoExpected, 0);
        int current = 0;
        int echoed = 0;
        for (String line : output.lines().toList()) {
            if (next < lines.size() && line.equals(lines.get(next))) {
                current = next + 1;
                echoed++;
                next = nextEchoed(echoExpected, next + 1);
            } else {
                parts.get(current).append(line).append('\n');
            }
        }
        return new PsqlTranscript(lines, parts.stream().map(StringBuilder::toString).toList(), echoed);
    }

    /** Which script lines psql echoes: all but empty ones and the data lines of COPY ... FROM stdin, up to and including "\.". */
    static boolean[] echoedLines(List<String> lines) {
        boolean[] echo = new boolean[lines.size()];
        StringBuilder statement = new StringBuilder();
        int i = 0;
        while (i < lines.size()) {
            String line = lines.get(i);
            echo[i] = !line.isEmpty();
            i++;
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
            for (int c = 0; c < copies; c++) {
                while (i < lines.size() && !lines.get(i).equals("\\.")) {
                    i++;
                }
                i++;
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

    private static int nextEchoed(boolean[] echo, int from) {
        int i = from;
        while (i < echo.length && !echo[i]) {
            i++;
        }
        return i;
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

    /** How many script lines were found echoed in the output (all expected ones when psql read the whole script). */
    public int echoed() {
        return echoed;
    }

    /** How many script lines psql is expected to echo. */
    public int expectedEchoes() {
        int n = 0;
        for (boolean e : echoedLines(script)) {
            n += e ? 1 : 0;
        }
        return n;
    }
}
