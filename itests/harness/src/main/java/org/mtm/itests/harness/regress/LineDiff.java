package org.mtm.itests.harness.regress;

import java.util.List;

/** A plain line diff (longest common subsequence) of two short texts, for reports. */
public final class LineDiff {
    /** Beyond this many lines per side the texts are shown whole rather than aligned (the table is quadratic). */
    private static final int ALIGN_LIMIT = 3000;

    private LineDiff() {
    }

    /** Lines of {@code a} only as "-", of {@code b} only as "+", common ones as " ". */
    public static String render(List<String> a, List<String> b) {
        StringBuilder out = new StringBuilder();
        if (a.size() > ALIGN_LIMIT || b.size() > ALIGN_LIMIT) {
            a.forEach(l -> out.append('-').append(l).append('\n'));
            b.forEach(l -> out.append('+').append(l).append('\n'));
            return out.toString();
        }
        int[][] lcs = new int[a.size() + 1][b.size() + 1];
        for (int i = a.size() - 1; i >= 0; i--) {
            for (int j = b.size() - 1; j >= 0; j--) {
                lcs[i][j] = a.get(i).equals(b.get(j)) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        int i = 0;
        int j = 0;
        while (i < a.size() || j < b.size()) {
            if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
                out.append(' ').append(a.get(i++)).append('\n');
                j++;
            } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
                out.append('-').append(a.get(i++)).append('\n');
            } else {
                out.append('+').append(b.get(j++)).append('\n');
            }
        }
        return out.toString();
    }
}
