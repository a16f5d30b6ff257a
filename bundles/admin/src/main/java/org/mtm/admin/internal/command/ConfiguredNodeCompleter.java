package org.mtm.admin.internal.command;

import java.util.List;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.mtm.api.ClusterState;
import org.mtm.api.NodeReport;

/** Completes the ids of the configured nodes (the rows of {@code mtm.nodes()}). */
@Service
public class ConfiguredNodeCompleter implements Completer {

    @Reference(optional = true)
    ClusterState clusterState;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter ids = new StringsCompleter();
        if (clusterState != null) {
            for (NodeReport n : clusterState.nodeReports()) {
                ids.getStrings().add(String.valueOf(n.id()));
            }
        }
        return ids.complete(session, commandLine, candidates);
    }
}
