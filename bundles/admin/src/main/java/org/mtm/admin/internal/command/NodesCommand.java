package org.mtm.admin.internal.command;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.mtm.api.ClusterState;
import org.mtm.api.NodeReport;

/** {@code mtm:nodes} — the rows of {@code mtm.nodes()}. */
@Service
@Command(scope = "mtm", name = "nodes", description = "Lists every configured node and its state (columns of mtm.nodes())")
public class NodesCommand implements Action {

    @Option(name = "--no-format", description = "Disable table rendered output (tab-separated values, no header)")
    boolean noFormat;

    @Reference(optional = true)
    ClusterState clusterState;

    @Override
    public Object execute() throws Exception {
        if (clusterState == null) {
            throw new IllegalStateException(Unavailable.CLUSTER_STATE);
        }
        ShellTable table = new ShellTable();
        for (String c : new String[] {"id", "conninfo", "is_self", "enabled", "connected", "sender_pid", "receiver_pid",
            "n_workers", "receiver_mode"}) {
            table.column(c);
        }
        for (NodeReport n : clusterState.nodeReports()) {
            table.addRow().addContent(n.id(), n.conninfo(), bool(n.isSelf()), bool(n.enabled()), bool(n.connected()),
                blank(n.senderPid()), blank(n.receiverPid()), n.isSelf() ? "" : n.nWorkers(),
                n.receiverMode() == null ? "" : n.receiverMode().sqlName());
        }
        table.print(System.out, !noFormat);
        return null;
    }

    private static String bool(boolean b) {
        return b ? "t" : "f";
    }

    private static Object blank(Integer pid) {
        return pid == null ? "" : pid;
    }
}
