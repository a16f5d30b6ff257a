package org.mtm.itests.harness;

import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Node id sets as the console prints them ({@code {1,2,3}}, {@code [1, 2, 3]}, {@code 1,2,3}). */
public final class NodeSets {
    private static final Pattern ID = Pattern.compile("\\d+");

    private NodeSets() {
    }

    public static Set<Integer> parse(String text) {
        Set<Integer> ids = new TreeSet<>();
        Matcher matcher = ID.matcher(text == null ? "" : text);
        while (matcher.find()) {
            ids.add(Integer.parseInt(matcher.group()));
        }
        return ids;
    }

    public static Set<Integer> of(Integer... ids) {
        return new TreeSet<>(Set.of(ids));
    }
}
