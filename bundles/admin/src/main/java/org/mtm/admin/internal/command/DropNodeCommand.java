package org.mtm.admin.internal.command;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterState;
import org.mtm.api.Generation;

/**
 * {@code mtm:drop-node <id>} — {@code mtm.drop_node(id)} (manual F.31.4.4) from the console. Admin role
 * (etc/org.apache.karaf.command.acl.mtm.cfg).
 */
@Service
@Command(scope = "mtm", name = "drop-node", description = "Drops a node from the cluster, as mtm.drop_node(id): every"
    + " remaining node switches to a generation without it (its catalog forgets it, its replication slots and origins"
    + " for it are dropped); the dropped node, if running, turns disabled. Run it on an online node other than the one"
    + " dropped")
public class DropNodeCommand implements Action {

    @Reference(optional = true)
    ClusterState clusterState;

    @Argument(index = 0, name = "id", description = "the node's id (the id column of mtm:nodes)", required = true)
    @Completion(ConfiguredNodeCompleter.class)
    int node;

    @Override
    public Object execute() throws Exception {
        if (clusterState == null) {
            throw new IllegalStateException(Unavailable.CLUSTER_STATE);
        }
        Generation gen;
        try {
            gen = clusterState.dropNode(node);
        } catch (ClusterAdminException e) {
            throw new IllegalStateException("mtm.drop_node(" + node + ") failed (SQLSTATE " + e.sqlState() + "): "
                + e.getMessage(), e);
        }
        System.out.println("node " + node + " dropped: now in generation " + gen.num() + " members " + gen.members()
            + " of " + gen.configured());
        return null;
    }
}
