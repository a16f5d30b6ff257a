package org.mtm.admin.internal.command;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.mtm.api.ClusterState;
import org.mtm.api.RefereeGrants;
import org.mtm.api.StatusReport;

/** {@code mtm:status} — the row of {@code mtm.status()} for this node. */
@Service
@Command(scope = "mtm", name = "status", description = "Shows this node's multimaster status (columns of mtm.status())")
public class StatusCommand implements Action {

    @Option(name = "--no-format", description = "Disable table rendered output (tab-separated values, no header)")
    boolean noFormat;

    @Reference(optional = true)
    ClusterState clusterState;

    @Reference(optional = true)
    RefereeGrants refereeGrants;

    @Reference(optional = true)
    org.mtm.api.Applier applier;

    @Reference(optional = true)
    org.mtm.api.SettingsAgreement settings;

    @Override
    public Object execute() throws Exception {
        if (clusterState == null) {
            if (refereeGrants != null) {
                System.out.println("role: referee; grant: "
                    + refereeGrants.current().map(g -> "node " + g.node() + " in generation " + g.generation()).orElse("none"));
                return null;
            }
            throw new IllegalStateException(Unavailable.CLUSTER_STATE);
        }
        StatusReport s = clusterState.statusReport();
        ShellTable table = new ShellTable();
        table.column("my_node_id");
        table.column("status");
        table.column("connected");
        table.column("gen_num");
        table.column("gen_members");
        table.column("gen_members_online");
        table.column("gen_configured");
        table.addRow().addContent(s.myNodeId(), s.status().sqlName(), s.connected(), s.genNum(), s.genMembers(),
            s.genMembersOnline(), s.genConfigured());
        table.print(System.out, !noFormat);
        clusterState.referee().ifPresent(r -> System.out.println("referee: " + r.describe()));
        if (applier != null) {
            // progress of a catch-up or recovery: how much is left (not a column of the manual's mtm.status())
            applier.recovery().describe(s.status()).ifPresent(p -> System.out.println("recovery: " + p));
        }
        if (settings != null) {
            // org.mtm.multimaster keys a reachable peer runs with another value (they should be the same everywhere)
            settings.differences().forEach(d -> System.out.println("settings differ: " + d));
        }
        return null;
    }
}
