package org.mtm.itests.harness.regress;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A first guess at why a statement answered otherwise through the cluster, from the answers alone, for grouping in the
 * report (the diff stays the evidence). In order: the cluster's own refusal (its "[multimaster]" error, by message);
 * psql's {@code \d+} showing mtm's publication or replica identity; an error cursor moved by the gateway; knock-on
 * effects (the transaction block had already failed, an object an earlier statement did not make); catalog queries
 * showing mtm's own objects; answers that differ in numbers only (node-strided sequences, sizes, knock-on); other.
 */
public final class DifferenceCause {
    static final String PUBLICATION = "\\d+ shows the cluster's publication (mtm_publication) or REPLICA IDENTITY FULL";
    static final String CURSOR = "error cursor position (LINE/^) differs: the gateway's statement text (issue 8 part 5)";
    static final String ABORTED = "knock-on: the transaction block had failed earlier (current transaction is aborted)";
    static final String MISSING = "knock-on: an object an earlier statement did not make on the cluster does not exist";
    static final String MTM_OBJECTS = "catalog queries show the cluster's own objects (schema mtm, mtm_publication)";
    static final String NUMBERS = "numbers differ only (node-strided sequence values, or knock-on)";
    static final String OTHER = "other: not classified";
    private static final Pattern REFUSAL = Pattern.compile("ERROR:  \\[multimaster\\] (.*)");
    private static final Pattern PUBLICATION_LINE = Pattern.compile(
        "Publications:|\\s*\"mtm_publication\"|Replica Identity: FULL|HINT:  To enable (updating|deleting from) the table, set REPLICA IDENTITY.*"
            + "|ERROR:  cannot (update|delete from) table \".*\" because it does not have a replica identity and publishes (updates|deletes)|");
    private static final Pattern CURSOR_LINE = Pattern.compile("\\s*\\^\\s*|LINE \\d+: .*");
    private static final Pattern DOES_NOT_EXIST = Pattern.compile("ERROR:  .* does not exist");

    private DifferenceCause() {
    }

    public static String of(FileComparison.StatementDifference difference) {
        for (String line : difference.cluster().lines().toList()) {
            Matcher refusal = REFUSAL.matcher(line);
            if (refusal.matches() && !difference.standalone().contains(line)) {
                return "refused by the cluster: " + generic(refusal.group(1));
            }
        }
        List<String> diff = difference.diff().lines().filter(l -> !l.startsWith(" ")).toList();
        List<String> changed = diff.stream().map(l -> l.substring(1)).toList();
        List<String> added = diff.stream().filter(l -> l.startsWith("+")).map(l -> l.substring(1)).toList();
        if (!changed.isEmpty() && changed.stream().allMatch(l -> PUBLICATION_LINE.matcher(l).matches())) {
            return PUBLICATION;
        }
        if (!changed.isEmpty() && changed.stream().allMatch(l -> CURSOR_LINE.matcher(l).matches())) {
            return CURSOR;
        }
        if (added.stream().anyMatch(l -> l.startsWith("ERROR:  current transaction is aborted"))) {
            return ABORTED;
        }
        if (added.stream().anyMatch(l -> DOES_NOT_EXIST.matcher(l).matches())) {
            return MISSING;
        }
        if (added.stream().anyMatch(l -> l.contains("mtm_publication") || l.matches(".*\\bmtm\\b.*"))) {
            return MTM_OBJECTS;
        }
        List<String> removed = diff.stream().filter(l -> l.startsWith("-")).map(l -> l.substring(1).replaceAll("[0-9]+", "N")).toList();
        if (!added.isEmpty() && removed.equals(added.stream().map(l -> l.replaceAll("[0-9]+", "N")).toList())) {
            return NUMBERS;
        }
        return OTHER;
    }

    /** The refusal's message without what names this statement's objects: up to its first colon, names and numbers out. */
    static String generic(String message) {
        int colon = message.indexOf(": ");
        String head = colon > 0 ? message.substring(0, colon) : message;
        return head.replaceAll("\"[^\"]*\"", "\"…\"").replaceAll("MTM-[0-9-]+", "MTM-…").replaceAll("\\$\\d+", "\\$n")
            .replaceAll("\\bnode \\d+", "node n").replaceAll("\\b[a-z_][a-z0-9_]*\\.[a-z_][a-z0-9_]*(\\([^)]*\\))?", "…");
    }
}
