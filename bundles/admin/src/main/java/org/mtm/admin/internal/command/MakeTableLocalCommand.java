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
 * {@code mtm:make-table-local <table>} — {@code mtm.make_table_local(relation)} (manual F.31.5.2) from the console.
 * Admin role (etc/org.apache.karaf.command.acl.mtm.cfg).
 */
@Service
@Command(scope = "mtm", name = "make-table-local", description = "Stops replication of a table on every node, as"
    + " mtm.make_table_local(relation): later changes of it stay on the node that makes them (the change is committed"
    + " through the cluster)")
public class MakeTableLocalCommand implements Action {

    @Argument(index = 0, name = "relation", required = true, description = "the table, as regclass reads it: my_table or"
        + " my_schema.my_table")
    @Completion(ReplicatedTableCompleter.class)
    String relation;

    @Reference(optional = true)
    ClusterAdministration administration;

    @Override
    public Object execute() throws Exception {
        if (administration == null) {
            throw new IllegalStateException(Unavailable.ADMINISTRATION);
        }
        try {
            administration.makeTableLocal(relation);
        } catch (ClusterAdminException e) {
            throw new IllegalStateException("make_table_local failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage(), e);
        }
        System.out.println("table " + relation + " is local: its changes are no longer replicated (on every node)");
        return null;
    }
}
