package org.mtm.admin.internal.command;

import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.mtm.api.ConsistencyCheck;

/** {@code mtm:free-snapshots} — {@code mtm.free_snapshots()}: ends the snapshots {@code mtm:get-snapshots} kept. Admin role. */
@Service
@Command(scope = "mtm", name = "free-snapshots", description = "Ends the snapshots mtm:get-snapshots kept on every node"
    + " (as mtm.free_snapshots())")
public class FreeSnapshotsCommand implements Action {

    @Reference(optional = true)
    ConsistencyCheck check;

    @Override
    public Object execute() throws Exception {
        if (check == null) {
            throw new IllegalStateException(Unavailable.CONSISTENCY_CHECK);
        }
        System.out.println(check.freeSnapshots(GetSnapshotsCommand.CONSOLE) ? "snapshots freed"
            : "no snapshots were kept (mtm:get-snapshots takes them)");
        return null;
    }
}
