package org.mtm.admin.internal;

import java.util.List;
import org.mtm.api.InDoubtTransactions;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenDataException;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;
import javax.management.openmbean.TabularData;
import javax.management.openmbean.TabularDataSupport;
import javax.management.openmbean.TabularType;

/** The rows of {@code mtm.in_doubt} as JMX open data, which any JMX client reads without mtm classes. */
final class InDoubtTable {
    private static final String[] NAMES = {"gid", "origin_node", "generation", "state", "prepared", "age_ms"};
    private static final CompositeType ROW;
    private static final TabularType TABLE;

    static {
        try {
            ROW = new CompositeType("org.mtm.InDoubtTransaction", "a prepared distributed transaction (mtm.in_doubt)", NAMES,
                new String[] {"global id MTM-<origin>-<xid>-<generation>", "node that coordinates it", "its generation",
                    "prepared, precommitted, preaborted, committed or aborted", "when it was prepared here",
                    "how long it has been prepared here, ms"},
                new OpenType<?>[] {SimpleType.STRING, SimpleType.INTEGER, SimpleType.LONG, SimpleType.STRING, SimpleType.STRING,
                    SimpleType.LONG});
            TABLE = new TabularType("org.mtm.InDoubtTransactions", "mtm.in_doubt", ROW, new String[] {"gid"});
        } catch (OpenDataException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private InDoubtTable() {
    }

    static TabularData of(List<InDoubtTransactions.Row> rows) throws OpenDataException {
        TabularDataSupport table = new TabularDataSupport(TABLE);
        for (InDoubtTransactions.Row r : rows) {
            table.put(new CompositeDataSupport(ROW, NAMES,
                new Object[] {r.gid(), r.originNode(), r.generation(), r.state(), r.prepared(), r.ageMs()}));
        }
        return table;
    }
}
