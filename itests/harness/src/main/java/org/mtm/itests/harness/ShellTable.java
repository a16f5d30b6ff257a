package org.mtm.itests.harness;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the tables Karaf commands print ({@code ShellTable}: a header row, a row of dashes and
 * {@code +}, then rows; columns separated by {@code |}) back into rows of column name to value.
 */
public final class ShellTable {
    private ShellTable() {
    }

    public static List<Map<String, String>> parse(String output) {
        String[] lines = output.replace("\r", "").split("\n");
        List<Map<String, String>> rows = new ArrayList<>();
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].contains("|") && isRule(lines[i + 1])) {
                List<String> header = cells(lines[i]);
                for (int j = i + 2; j < lines.length && lines[j].contains("|"); j++) {
                    List<String> values = cells(lines[j]);
                    Map<String, String> row = new LinkedHashMap<>();
                    for (int c = 0; c < header.size(); c++) {
                        row.put(header.get(c), c < values.size() ? values.get(c) : "");
                    }
                    rows.add(row);
                }
                return rows;
            }
        }
        return rows;
    }

    /** The single row of a one-row table (e.g. {@code mtm:status}), or an AssertionError showing the output. */
    public static Map<String, String> single(String output) {
        List<Map<String, String>> rows = parse(output);
        if (rows.size() != 1) {
            throw new AssertionError("expected a table with one row, got " + rows.size() + " in:\n" + output);
        }
        return rows.get(0);
    }

    private static boolean isRule(String line) {
        String trimmed = line.trim();
        return !trimmed.isEmpty() && trimmed.chars().allMatch(ch -> ch == '-' || ch == '+' || ch == ' ') && trimmed.contains("-");
    }

    private static List<String> cells(String line) {
        List<String> cells = new ArrayList<>();
        for (String cell : line.split("\\|", -1)) {
            cells.add(stripAnsi(cell).trim());
        }
        return cells;
    }

    static String stripAnsi(String text) {
        return text.replaceAll("\u001B\\[[0-9;]*[A-Za-z]", "");
    }
}
