package org.mtm.itests.harness.regress;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A first guess at why a statement answered otherwise through the cluster, from the answers alone, for grouping in the
 * report (the diff stays the evidence): the cluster's own refusal (its "[multimaster]" error, by message), mtm's
 * publication or replica identity shown by psql's {@code \d+}, an error cursor moved by the gateway, or other (among
 * them knock-on effects of an earlier difference and node-strided sequence values).
 */
public final class DifferenceCause {
    static final String PUBLICATION = "\\d+ shows the cluster's publication (mtm_publication) and REPLICA IDENTITY FULL";
    static final String CURSOR = "error cursor position (LINE/^) differs: the gateway's statement text (issue 8 part 5)";
    static final String OTHER = "other: not classified (knock-on effects of earlier differences, strided sequence values, ...)";
    private static final Pattern REFUSAL = Pattern.compile("ERROR:  \\[multimaster\\] (.*)");
    private static final Pattern PUBLICATION_LINE = Pattern.compile("Publications:|\\s*\"mtm_publication\"|Replica Identity: FULL|");
    private static final Pattern CURSOR_LINE = Pattern.compile("\\s*\\^\\s*|LINE \\d+: .*");

    private DifferenceCause() {
    }

    public static String of(FileComparison.StatementDifference difference) {
        for (String line : difference.cluster().lines().toList()) {
            Matcher refusal = REFUSAL.matcher(line);
            if (refusal.matches() && !difference.standalone().contains(line)) {
                return "refused by the cluster: " + generic(refusal.group(1));
            }
        }
        List<String> changed = difference.diff().lines().filter(l -> !l.startsWith(" ")).map(l -> l.substring(1)).toList();
        if (!changed.isEmpty() && changed.stream().allMatch(l -> PUBLICATION_LINE.matcher(l).matches())) {
            return PUBLICATION;
        }
        if (!changed.isEmpty() && changed.stream().allMatch(l -> CURSOR_LINE.matcher(l).matches())) {
            return CURSOR;
        }
        return OTHER;
    }

    /** The refusal's message without what names this statement's objects: up to its first colon, numbers and quoted names out. */
    static String generic(String message) {
        int colon = message.indexOf(": ");
        String head = colon > 0 ? message.substring(0, colon) : message;
        return head.replaceAll("\"[^\"]*\"", "\"…\"").replaceAll("MTM-[0-9-]+", "MTM-…").replaceAll("\\$\\d+", "\\$n");
    }
}
