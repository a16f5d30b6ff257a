package org.mtm.admin.internal.command;

/**
 * Why a command cannot run here. The commands reference data-node services optionally, so that Karaf
 * registers every {@code mtm:*} command on a referee too (it holds back all of a bundle's commands
 * while any required service is missing).
 */
final class Unavailable {
    static final String CLUSTER_STATE = "this is not a data node (no mtm consensus component active: a referee,"
        + " or the mtm-node feature is not started; see scr:list)";
    static final String ADMINISTRATION = "cluster administration is not available on this node (a referee, or the"
        + " admin component is not active; see scr:list)";

    static final String DATABASE = "this node has no PostgreSQL beside it now (a referee, or the mtm postgres"
        + " component is not active or its server not accepting connections; see scr:list)";

    static final String CONSISTENCY_CHECK = "consistent snapshots are not available on this node (a referee, or the mtm"
        + " admin or consensus components are not active; see scr:list)";

    static final String SEQUENCES = "mtm.alter_sequences is not available on this node (a referee, or the mtm sequence"
        + " component is not active; see scr:list)";

    private Unavailable() {
    }
}
