package org.mtm.admin.internal.command;

import java.sql.SQLException;
import java.util.List;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.mtm.api.InDoubtTransactions;
import org.mtm.api.LocalDatabase;

/** {@code mtm:in-doubt} — the rows of the view {@code mtm.in_doubt}: this node's prepared distributed transactions. */
@Service
@Command(scope = "mtm", name = "in-doubt", description = "Lists this node's prepared distributed transactions (view"
    + " mtm.in_doubt): gid, origin node, generation, state as the resolver knows it, when prepared and age. A commit"
    + " passes through for milliseconds; one that stays longer than heartbeat_recv_timeout is being resolved")
public class InDoubtCommand implements Action {

    @Option(name = "--no-format", description = "Disable table rendered output (tab-separated rows, no header)")
    boolean noFormat;

    @Reference(optional = true)
    LocalDatabase database;

    @Override
    public Object execute() throws Exception {
        if (database == null) {
            throw new IllegalStateException(Unavailable.DATABASE);
        }
        List<InDoubtTransactions.Row> rows;
        try {
            rows = InDoubtTransactions.read(database);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read mtm.in_doubt (SQLSTATE " + e.getSQLState() + "): " + e.getMessage(), e);
        }
        ShellTable table = new ShellTable();
        for (String c : new String[] {"gid", "origin_node", "generation", "state", "prepared", "age"}) {
            table.column(c);
        }
        for (InDoubtTransactions.Row r : rows) {
            table.addRow().addContent(r.gid(), r.originNode(), r.generation(), r.state(), r.prepared(), r.age());
        }
        // System.out is the session's console while a command runs (Karaf swaps it per thread), as in mtm:status
        table.print(System.out, !noFormat);
        return null;
    }
}
