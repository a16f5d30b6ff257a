package org.mtm.admin.internal.command;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterAdministration;

/**
 * {@code mtm:add-node <conninfo>} — {@code mtm.add_node(connstr)} (manual F.31.4.3) from the console. Admin role
 * (etc/org.apache.karaf.command.acl.mtm.cfg).
 */
@Service
@Command(scope = "mtm", name = "add-node", description = "Adds a node to the cluster, as mtm.add_node(connstr): gives it"
    + " an id, creates its replication slot on every node and configures it (not a member yet). Then make it from a base"
    + " backup of an online node (database.base_backup_from), start it and run mtm:join-node <id> <backup end lsn>")
public class AddNodeCommand implements Action {

    @Reference(optional = true)
    ClusterAdministration administration;

    @Argument(index = 0, name = "conninfo", description = "the new node's PostgreSQL, e.g. 'host=node4 port=5432"
        + " dbname=mydb user=mtmuser'", required = true)
    String conninfo;

    @Override
    public Object execute() throws Exception {
        if (administration == null) {
            throw new IllegalStateException("mtm.add_node is not available: the mtm admin component is not active");
        }
        int id;
        try {
            id = administration.addNode(conninfo);
        } catch (ClusterAdminException e) {
            throw new IllegalStateException("mtm.add_node failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage(), e);
        }
        System.out.println("node " + id + " added: make it from a base backup of an online node, start it, then run"
            + " mtm:join-node " + id + " <backup end lsn>");
        return null;
    }
}
