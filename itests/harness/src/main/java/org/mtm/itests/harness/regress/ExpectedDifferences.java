package org.mtm.itests.harness.regress;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The statements of PostgreSQL's regression files that are known to answer otherwise through the cluster, each with
 * its cause (issue 8 part 6: every differing statement explained). Two vendored lists: the causes (key, kind, one-line
 * reason) and the statements (file, the line of the .sql that ends the statement, cause key). The differential run
 * checks its differences against them: a statement that differs and is not listed, or is listed and no longer differs,
 * fails the run; the first-guess classifier ({@link DifferenceCause}) only helps to write the list. A knock-on needs a
 * listed statement of another cause earlier in the same file. Pure.
 */
public final class ExpectedDifferences {
    /** The cause key of statements that fail only because an earlier listed statement of the same file differed. */
    public static final String KNOCK_ON = "knock-on";
    /**
     * The cause of node-strided sequences. With {@code mtm.volkswagen_mode = on} in the psql sessions (the original's
     * multimaster.volkswagen_mode, in which it runs PostgreSQL's regression suite) sequences are not strided: see
     * {@link #inVolkswagenMode()}.
     */
    public static final String STRIDED = "strided";
    /** Kinds of cause, in the README's order. */
    public static final List<String> KINDS = List.of("refusal", "by-design", "knock-on", "open-bug");

    /** A cause: its key, its kind (one of {@link #KINDS}) and why. */
    public record Cause(String key, String kind, String reason) { }

    /** What a run showed against the list: differing statements not listed, listed ones that answered alike. */
    public record Check(List<String> unexpected, List<String> stale) {
        public boolean holds() {
            return unexpected.isEmpty() && stale.isEmpty();
        }
    }

    private final Map<String, Cause> causes;
    /** file → line → cause key. */
    private final Map<String, TreeMap<Integer, String>> statements;

    private ExpectedDifferences(Map<String, Cause> causes, Map<String, TreeMap<Integer, String>> statements) {
        this.causes = causes;
        this.statements = statements;
    }

    /**
     * Reads the causes ({@code key<TAB>kind<TAB>reason}) and the statements ({@code file<TAB>line<TAB>key}); lines
     * starting with '#' and blank lines are comments. Refuses unknown keys or kinds, a statement listed twice, and a
     * knock-on with no statement of another cause before it in its file.
     */
    public static ExpectedDifferences parse(String causesTsv, String statementsTsv) {
        Map<String, Cause> causes = new LinkedHashMap<>();
        for (String[] f : rows(causesTsv, 3, "causes")) {
            if (!KINDS.contains(f[1])) {
                throw new IllegalArgumentException("cause " + f[0] + ": kind " + f[1] + " is none of " + KINDS);
            }
            if (causes.put(f[0], new Cause(f[0], f[1], f[2])) != null) {
                throw new IllegalArgumentException("cause " + f[0] + " listed twice");
            }
        }
        Map<String, TreeMap<Integer, String>> statements = new TreeMap<>();
        for (String[] f : rows(statementsTsv, 3, "statements")) {
            if (!causes.containsKey(f[2])) {
                throw new IllegalArgumentException(f[0] + ".sql line " + f[1] + ": unknown cause " + f[2]);
            }
            if (statements.computeIfAbsent(f[0], x -> new TreeMap<>()).put(Integer.parseInt(f[1]), f[2]) != null) {
                throw new IllegalArgumentException(f[0] + ".sql line " + f[1] + " listed twice");
            }
        }
        statements.forEach((file, lines) -> lines.forEach((line, key) -> {
            if (causes.get(key).kind().equals(KNOCK_ON)
                    && lines.headMap(line).values().stream().allMatch(k -> causes.get(k).kind().equals(KNOCK_ON))) {
                throw new IllegalArgumentException(file + ".sql line " + line + ": a knock-on with no other listed cause "
                    + "before it in the file");
            }
        }));
        return new ExpectedDifferences(causes, statements);
    }

    private static List<String[]> rows(String tsv, int fields, String what) {
        List<String[]> rows = new ArrayList<>();
        for (String line : tsv.lines().toList()) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t", -1);
            if (f.length != fields) {
                throw new IllegalArgumentException(what + ": not " + fields + " tab-separated fields: " + line);
            }
            rows.add(f);
        }
        return rows;
    }

    /**
     * The list for a run whose psql sessions have {@code mtm.volkswagen_mode = on}: the statements of cause
     * {@link #STRIDED} answer as on PostgreSQL there, and so do the knock-ons that follow only from them (every listed
     * statement before the knock-on in its file that is not a knock-on is strided); the rest of the list stays.
     */
    public ExpectedDifferences inVolkswagenMode() {
        return inVolkswagenMode("");
    }

    /**
     * {@link #inVolkswagenMode()}, plus the statements of {@code statementsTsv} ({@code file<TAB>line<TAB>key}): those
     * the stride hid — listed as strided or as one of their knock-ons, or not listed (with strided keys an {@code
     * UPDATE … WHERE a = 2} finds no row) — that differ for another cause once sequences are not strided. Refuses a
     * statement the list gives another cause in both modes, and the cause {@link #STRIDED}.
     */
    public ExpectedDifferences inVolkswagenMode(String statementsTsv) {
        ExpectedDifferences vw = without(Set.of(STRIDED));
        for (String[] f : rows(statementsTsv, 3, "volkswagen statements")) {
            int line = Integer.parseInt(f[1]);
            if (!causes.containsKey(f[2]) || f[2].equals(STRIDED)) {
                throw new IllegalArgumentException(f[0] + ".sql line " + f[1] + ": cause " + f[2] + " is unknown or strided");
            }
            if (vw.causeOf(f[0], line) != null) {
                throw new IllegalArgumentException(f[0] + ".sql line " + f[1] + " is listed with cause " + vw.causeOf(f[0], line)
                    + " in both modes");
            }
            vw.statements.computeIfAbsent(f[0], x -> new TreeMap<>()).put(line, f[2]);
        }
        vw.statements.forEach((file, lines) -> lines.forEach((line, key) -> {
            if (causes.get(key).kind().equals(KNOCK_ON)
                    && lines.headMap(line).values().stream().allMatch(k -> causes.get(k).kind().equals(KNOCK_ON))) {
                throw new IllegalArgumentException(file + ".sql line " + line + ": a knock-on with no other listed cause "
                    + "before it in the file (volkswagen mode)");
            }
        }));
        return vw;
    }

    /** The list less the statements of {@code gone} and the knock-ons that follow only from them. */
    ExpectedDifferences without(Set<String> gone) {
        Map<String, TreeMap<Integer, String>> kept = new TreeMap<>();
        statements.forEach((file, lines) -> lines.forEach((line, key) -> {
            boolean dropped = gone.contains(key) || causes.get(key).kind().equals(KNOCK_ON)
                && lines.headMap(line).values().stream().filter(k -> !causes.get(k).kind().equals(KNOCK_ON)).allMatch(gone::contains);
            if (!dropped) {
                kept.computeIfAbsent(file, x -> new TreeMap<>()).put(line, key);
            }
        }));
        return new ExpectedDifferences(causes, kept);
    }

    /** The listed cause of the statement ending at {@code line} of {@code file}, or null. */
    public String causeOf(String file, int line) {
        TreeMap<Integer, String> lines = statements.get(file);
        return lines == null ? null : lines.get(line);
    }

    public Cause cause(String key) {
        return causes.get(key);
    }

    /** The files with listed statements. */
    public Set<String> files() {
        return statements.keySet();
    }

    /** Against a run: only the files it ran count (a run of some files does not make the others' entries stale). */
    public Check check(List<FileComparison> files) {
        List<String> unexpected = new ArrayList<>();
        List<String> stale = new ArrayList<>();
        for (FileComparison f : files) {
            TreeMap<Integer, String> listed = new TreeMap<>(statements.getOrDefault(f.name(), new TreeMap<>()));
            for (FileComparison.StatementDifference d : f.differences()) {
                if (listed.remove(d.line()) == null) {
                    unexpected.add(f.name() + ".sql line " + d.line());
                }
            }
            listed.forEach((line, key) -> stale.add(f.name() + ".sql line " + line + " (" + key + ")"));
        }
        return new Check(List.copyOf(unexpected), List.copyOf(stale));
    }

    /** Statements listed per cause, in the causes' order (causes without statements left out). */
    public Map<String, Integer> counts() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        causes.keySet().forEach(k -> counts.put(k, 0));
        statements.values().forEach(lines -> lines.values().forEach(k -> counts.merge(k, 1, Integer::sum)));
        counts.values().removeIf(n -> n == 0);
        return counts;
    }

    /** Statements listed. */
    public int size() {
        return statements.values().stream().mapToInt(Map::size).sum();
    }

    /**
     * The README's table of the list (section "PostgreSQL's regression suite as a differential test"): one row per
     * cause with its statements, kind, key, reason and the files it is listed for, by kind then by count.
     */
    public String readmeTable() {
        Map<String, Integer> counts = counts();
        StringBuilder out = new StringBuilder("| statements | kind | cause | reason | files |\n|---:|---|---|---|---|\n");
        for (String kind : KINDS) {
            counts.entrySet().stream().filter(e -> causes.get(e.getKey()).kind().equals(kind))
                .sorted((a, b) -> b.getValue() - a.getValue()).forEach(e -> {
                    Cause c = causes.get(e.getKey());
                    out.append("| ").append(e.getValue()).append(" | ").append(kind).append(" | `").append(c.key())
                        .append("` | ").append(c.reason()).append(" | ").append(filesOf(c.key())).append(" |\n");
                });
        }
        out.append("| **").append(size()).append("** | | | in ").append(statements.size()).append(" files | |\n");
        return out.toString();
    }

    /** {@code file n, file n, ...} of a cause. */
    private String filesOf(String key) {
        Map<String, Integer> files = new TreeMap<>();
        statements.forEach((file, lines) -> lines.values().forEach(k -> {
            if (k.equals(key)) {
                files.merge(file, 1, Integer::sum);
            }
        }));
        List<String> parts = new ArrayList<>();
        files.forEach((file, n) -> parts.add("`" + file + "` " + n));
        return String.join(", ", parts);
    }
}
