package org.mtm.api;

import java.util.ArrayList;
import java.util.List;

/** Names of the replication objects every node carries, shared by cluster init and the applier. */
public final class Replication {
    /** Publication of every table on each node; the applier filters what must not be applied. */
    public static final String PUBLICATION = "mtm_publication";

    /** Replication origin under which a node's resolver finishes peers' copies it holds prepared. */
    public static final String RESOLVER_ORIGIN = "mtm_resolver";

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

    /**
     * Worker origins made ahead of use for each peer: a catch-up applies with at most this many workers
     * ({@code catchup_workers} is capped to it), so every origin a catch-up commits under exists before the node's slots
     * are made (see {@link #applyOriginNames}).
     */
    public static final int WORKER_ORIGINS_AHEAD = 16;

    /** Replication origin of apply worker {@code worker} (1..) of the stream of node {@code origin}; 0: the stream's own. */
    public static String workerOriginName(int origin, int worker) {
        return originName(origin) + (worker == 0 ? "" : "_" + worker);
    }

    /**
     * The origins a node applies node {@code origin}'s stream under during a catch-up: {@code mtm_node_<origin>} and its
     * first {@value #WORKER_ORIGINS_AHEAD} worker origins. They must exist before the node makes its own slots:
     * PostgreSQL 15 does not name (no {@code O} message) an origin created while a slot is being built to a transaction
     * that began before the slot was consistent, and a peer would then apply that copy as the node's own.
     */
    public static List<String> applyOriginNames(int origin) {
        List<String> names = new ArrayList<>();
        for (int worker = 0; worker <= WORKER_ORIGINS_AHEAD; worker++) {
            names.add(workerOriginName(origin, worker));
        }
        return names;
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
