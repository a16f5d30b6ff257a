package org.mtm.api;

/** Names of the replication objects every node carries, shared by cluster init and the applier. */
public final class Replication {
    /** Publication of every table on each node; the applier filters what must not be applied. */
    public static final String PUBLICATION = "mtm_publication";

    private Replication() {
    }

    /** Slot on a node from which the receiver of node {@code receiver} streams. */
    public static String slotName(int receiver) {
        return "mtm_slot_" + receiver;
    }

    /** Replication origin under which a node applies what it received from node {@code origin}. */
    public static String originName(int origin) {
        return "mtm_node_" + origin;
    }

    /** The origin id parsed back from {@link #originName(int)}, or 0 when {@code name} is not one. */
    public static int originNode(String name) {
        if (name == null || !name.startsWith("mtm_node_")) {
            return 0;
        }
        try {
            return Integer.parseInt(name.substring("mtm_node_".length()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
