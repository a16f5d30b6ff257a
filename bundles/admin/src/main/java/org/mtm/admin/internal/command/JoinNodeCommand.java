package org.mtm.admin.internal.command;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterAdministration;

/**
 * {@code mtm:join-node <id> <lsn>} — {@code mtm.join_node(id, backup_end_lsn)} (manual F.31.4.3) from the console.
 * Admin role (etc/org.apache.karaf.command.acl.mtm.cfg).
 */
@Service
@Command(scope = "mtm", name = "join-node", description = "Joins a node added with mtm:add-node and started from a base"
    + " backup, as mtm.join_node(id, backup_end_lsn): it catches up from the backup's source from exactly the backup's"
    + " end, then goes online")
public class JoinNodeCommand implements Action {

    @Reference(optional = true)
    ClusterAdministration administration;

    @Argument(index = 0, name = "id", description = "the id mtm:add-node gave", required = true)
    @Completion(ConfiguredNodeCompleter.class)
    int node;

    @Argument(index = 1, name = "lsn", description = "the base backup's end LSN (pg_basebackup's 'write-ahead log end"
        + " point', or mtm.join_pending on the new node)", required = true)
    String lsn;

    @Override
    public Object execute() throws Exception {
        if (administration == null) {
            throw new IllegalStateException("mtm.join_node is not available: the mtm admin component is not active");
        }
        try {
            administration.joinNode(node, lsn);
        } catch (ClusterAdminException e) {
            throw new IllegalStateException("mtm.join_node(" + node + ", '" + lsn + "') failed (SQLSTATE " + e.sqlState()
                + "): " + e.getMessage(), e);
        }
        System.out.println("node " + node + " joins: it catches up from the base backup's source, then goes online"
            + " (mtm:status on it)");
        return null;
    }
}
