package org.mtm.admin.internal.command;

import java.sql.SQLException;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.mtm.api.SequenceAllocator;

/**
 * {@code mtm:alter-sequences} — {@code mtm.alter_sequences()} (manual F.31.5.2) from the console: every sequence of
 * every node strided by node id in one distributed transaction. Admin role (etc/org.apache.karaf.command.acl.mtm.cfg).
 */
@Service
@Command(scope = "mtm", name = "alter-sequences", description = "Fixes every sequence of the cluster database on every"
    + " node so that nodes never issue the same value (increment = the largest node id, each node its own residue),"
    + " in one distributed transaction, as mtm.alter_sequences(); prints how many sequences it changed")
public class AlterSequencesCommand implements Action {

    @Reference(optional = true)
    SequenceAllocator sequences;

    @Override
    public Object execute() throws Exception {
        if (sequences == null) {
            throw new IllegalStateException(Unavailable.SEQUENCES);
        }
        int changed;
        try {
            changed = sequences.alterSequences();
        } catch (SQLException e) {
            throw new IllegalStateException("mtm.alter_sequences failed (SQLSTATE " + e.getSQLState() + "): "
                + e.getMessage(), e);
        }
        System.out.println("altered " + changed + " sequence(s) on every node");
        return null;
    }
}
