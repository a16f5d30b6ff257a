package org.mtm.api;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Global id of a distributed transaction: {@code MTM-<origin node>-<origin xid>-<generation>}, the name of
 * its prepared transaction on every node. The {@code MTM-} prefix is reserved for the cluster.
 */
public record Gid(int originNode, long originXid, long generation) {
    public static final String PREFIX = "MTM-";
    private static final Pattern FORM = Pattern.compile("MTM-(\\d+)-(\\d+)-(\\d+)");

    public Gid {
        if (originNode < 1 || originNode > NodeSet.MAX_NODE_ID) {
            throw new IllegalArgumentException("origin node must be 1.." + NodeSet.MAX_NODE_ID + ", got " + originNode);
        }
        if (originXid < 0 || generation < 0) {
            throw new IllegalArgumentException("xid and generation must be >= 0");
        }
    }

    /** True for any name in the cluster's reserved space, so user PREPARE TRANSACTION can be refused. */
    public static boolean isReserved(String name) {
        return name != null && name.regionMatches(true, 0, PREFIX, 0, PREFIX.length());
    }

    /** The gid {@code name} stands for, or null when it is not an mtm gid (a user's own prepared transaction). */
    public static Gid tryParse(String name) {
        if (!isReserved(name)) {
            return null;
        }
        Matcher m = FORM.matcher(name);
        return m.matches() ? parse(name) : null;
    }

    public static Gid parse(String text) {
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("not an mtm gid (MTM-<node>-<xid>-<gen>): '" + text + "'");
        }
        return new Gid(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)));
    }

    @Override
    public String toString() {
        return PREFIX + originNode + "-" + originXid + "-" + generation;
    }
}
