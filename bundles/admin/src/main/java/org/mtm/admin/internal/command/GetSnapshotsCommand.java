package org.mtm.admin.internal.command;

import java.util.Map;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ConsistencyCheck;

/**
 * {@code mtm:get-snapshots} — {@code mtm.get_snapshots()} from the console: a snapshot on every online member at one
 * consistent point, kept for the console (every console session together) until {@code mtm:free-snapshots} or until the
 * admin bundle stops. Admin role.
 */
@Service
@Command(scope = "mtm", name = "get-snapshots", description = "Takes a snapshot on every online node at one consistent"
    + " point and keeps it until mtm:free-snapshots (as mtm.get_snapshots()): prints each node's snapshot id, for SET"
    + " TRANSACTION SNAPSHOT '<id>' in a REPEATABLE READ transaction on that node's PostgreSQL. Kept snapshots hold back"
    + " vacuum on every node: free them")
public class GetSnapshotsCommand implements Action {

    /** Whose snapshots these are: the console's, so that another console session frees them. */
    static final Object CONSOLE = new Object() {
        @Override
        public String toString() {
            return "console";
        }
    };

    @Option(name = "--no-format", description = "Disable table rendered output")
    boolean noFormat;

    @Reference(optional = true)
    ConsistencyCheck check;

    @Override
    public Object execute() throws Exception {
        if (check == null) {
            throw new IllegalStateException(Unavailable.CONSISTENCY_CHECK);
        }
        Map<Integer, String> ids;
        try {
            ids = check.getSnapshots(CONSOLE);
        } catch (ClusterAdminException e) {
            throw new IllegalStateException("get_snapshots failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage(), e);
        }
        ShellTable table = new ShellTable();
        table.column("node");
        table.column("snapshot");
        ids.forEach((node, id) -> table.addRow().addContent(node, id));
        table.print(System.out, !noFormat);
        return null;
    }
}
