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

    /** A JMX attribute value: {@code int[]}, {@code long[]}, a collection or text. */
    public static Set<Integer> fromAttribute(Object value) {
        if (value instanceof int[] ints) {
            Set<Integer> ids = new TreeSet<>();
            for (int id : ints) {
                ids.add(id);
            }
            return ids;
        }
        if (value instanceof long[] longs) {
            Set<Integer> ids = new TreeSet<>();
            for (long id : longs) {
                ids.add((int) id);
            }
            return ids;
        }
        return parse(String.valueOf(value));
    }

    public static Set<Integer> of(Integer... ids) {
        return new TreeSet<>(Set.of(ids));
    }
}
