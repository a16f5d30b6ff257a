package org.mtm.admin.internal.command;

import java.util.List;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ClusterAdministration;
import org.mtm.api.ClusterConfig;

/** {@code mtm:init-cluster <my conninfo> <peer conninfo>...} — {@code mtm.init_cluster()} from the console. */
@Service
@Command(scope = "mtm", name = "init-cluster",
    description = "Initialises the cluster: this node's conninfo first, then every peer's; node ids 1..N in that order")
public class InitClusterCommand implements Action {

    @Argument(index = 0, name = "my_conninfo", required = true,
        description = "conninfo peers use to reach this node's PostgreSQL, e.g. 'host=10.0.0.1 port=5432 dbname=mydb user=mtmuser'")
    String myConninfo;

    @Argument(index = 1, name = "peers_conninfo", required = true, multiValued = true,
        description = "conninfo of every other node")
    List<String> peers;

    @Reference(optional = true)
    ClusterAdministration administration;

    /** Fails the command (non-zero exit of {@code bin/client}/SSH) with the SQLSTATE and the reason. */
    @Override
    public Object execute() throws Exception {
        if (administration == null) {
            throw new IllegalStateException(Unavailable.ADMINISTRATION);
        }
        try {
            ClusterConfig config = administration.initCluster(myConninfo, peers);
            System.out.println("cluster initialised: nodes " + config.configured() + ", this node is " + config.selfId());
        } catch (ClusterAdminException e) {
            throw new IllegalStateException("init_cluster failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage(), e);
        }
        return null;
    }
}
