package org.mtm.admin.internal.command;

import java.util.Map;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.ConsistencyCheck;

/**
 * {@code mtm:check-query "<sql>"} — {@code mtm.check_query(query_text)} from the console: the query's result on every
 * node at one consistent point, compared. Prints one row per node and {@code check_query: t} or {@code f} with the
 * first difference; the command succeeds either way (a difference is an answer, not a failure). On large tables it
 * prints its progress first: where the snapshots were taken, every million rows read on a node, each node's end.
 */
@Service
@Command(scope = "mtm", name = "check-query", description = "Compares a query's result on every online node at one"
    + " consistent point (mtm.check_query): rows as a set unless the query has a top-level ORDER BY; names the nodes that"
    + " differ and the first difference")
public class CheckQueryCommand implements Action {

    @Argument(index = 0, name = "query_text", required = true, description = "a read-only query, e.g. \"SELECT * FROM my_table\"")
    String query;

    @Option(name = "--no-format", description = "Disable table rendered output")
    boolean noFormat;

    @Reference(optional = true)
    ConsistencyCheck check;

    @Override
    public Object execute() throws Exception {
        if (check == null) {
            throw new IllegalStateException(Unavailable.CONSISTENCY_CHECK);
        }
        ConsistencyCheck.Comparison c;
        try {
            // progress on large tables, on the console while the command runs (the nodes' query threads call it)
            java.io.PrintStream console = System.out;
            c = check.checkQuery(query, null, line -> {
                synchronized (console) {
                    console.println(line);
                    console.flush();
                }
            });
        } catch (ClusterAdminException e) {
            throw new IllegalStateException("check_query failed (SQLSTATE " + e.sqlState() + "): " + e.getMessage(), e);
        }
        ShellTable table = new ShellTable();
        table.column("node");
        table.column("result");
        table.column("same");
        for (Map.Entry<Integer, String> e : c.summaries().entrySet()) {
            table.addRow().addContent(e.getKey(), e.getValue(), c.differing().contains(e.getKey()) ? "f" : "t");
        }
        table.print(System.out, !noFormat); // the session's console while the command runs, as in mtm:status
        System.out.println("check_query: " + (c.same() ? "t" : "f"));
        if (!c.same()) {
            System.out.println("differing nodes: " + c.differing() + " (reference node " + c.reference() + ")");
            System.out.println("WARNING: " + c.firstDifference());
        }
        return null;
    }
}
