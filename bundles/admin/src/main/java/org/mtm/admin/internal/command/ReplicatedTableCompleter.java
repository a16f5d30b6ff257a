package org.mtm.admin.internal.command;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.mtm.api.LocalDatabase;

/** Completes the replicated tables of the cluster database (not local yet), as {@code schema.table}. */
@Service
public class ReplicatedTableCompleter implements Completer {
    static final String QUERY = "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c"
        + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p'"
        + " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'mtm') AND n.nspname NOT LIKE 'pg\\_%'"
        + " AND NOT EXISTS (SELECT 1 FROM mtm.local_tables l WHERE l.rel_schema = n.nspname AND l.rel_name = c.relname)"
        + " ORDER BY 1";

    @Reference(optional = true)
    LocalDatabase database;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter tables = new StringsCompleter();
        if (database != null) {
            try (Connection c = database.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(QUERY)) {
                while (rs.next()) {
                    tables.getStrings().add(rs.getString(1));
                }
            } catch (SQLException e) {
                // nothing to offer: the command itself reports what is wrong
            }
        }
        return tables.complete(session, commandLine, candidates);
    }
}
