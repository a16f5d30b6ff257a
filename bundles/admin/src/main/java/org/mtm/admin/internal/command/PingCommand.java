package org.mtm.admin.internal.command;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterAdministration;
import org.mtm.api.ClusterState;
import org.mtm.api.StatusReport;

/**
 * {@code mtm:ping} — {@code mtm.ping()} from the console: succeeds when this node and every member of its generation
 * are online in that same generation, fails (non-zero exit of {@code bin/client}) naming the first node that is not.
 */
@Service
@Command(scope = "mtm", name = "ping", description = "Checks that this node and every member of its generation are online"
    + " in that same generation, asking each member's PostgreSQL (mtm.status()): prints 'ping: t', or fails naming the node"
    + " that is not online, is in another generation or does not answer (as mtm.ping())")
public class PingCommand implements Action {

    @Reference(optional = true)
    ClusterAdministration administration;

    @Reference(optional = true)
    ClusterState clusterState;

    @Override
    public Object execute() throws Exception {
        if (administration == null || clusterState == null) {
            throw new IllegalStateException(administration == null ? Unavailable.ADMINISTRATION : Unavailable.CLUSTER_STATE);
        }
        try {
            administration.ping();
        } catch (ClusterAdminException e) {
            throw new IllegalStateException("ping failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage(), e);
        }
        StatusReport s = clusterState.statusReport();
        System.out.println("ping: t (generation " + s.genNum() + ", members " + s.genMembers() + " online)");
        return null;
    }
}
