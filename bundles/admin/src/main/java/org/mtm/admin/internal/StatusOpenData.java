package org.mtm.admin.internal;

import java.util.List;
import javax.management.openmbean.ArrayType;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenDataException;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;
import javax.management.openmbean.TabularData;
import javax.management.openmbean.TabularDataSupport;
import javax.management.openmbean.TabularType;
import org.mtm.api.NodeReport;
import org.mtm.api.StatusReport;

/**
 * {@code mtm.status()} and {@code mtm.nodes()} as JMX open data, column for column with the manual's names and types
 * (int[] as primitive int arrays, a NULL pid as null), which any JMX client reads without mtm classes.
 */
final class StatusOpenData {
    static final String[] STATUS_COLUMNS = {"my_node_id", "status", "connected", "gen_num", "gen_members",
        "gen_members_online", "gen_configured"};
    static final String[] NODES_COLUMNS = {"id", "conninfo", "is_self", "enabled", "connected", "sender_pid",
        "receiver_pid", "n_workers", "receiver_mode"};
    private static final CompositeType STATUS;
    private static final CompositeType NODE;
    private static final TabularType NODES;

    static {
        try {
            OpenType<?> ids = ArrayType.getPrimitiveArrayType(int[].class);
            STATUS = new CompositeType("org.mtm.Status", "mtm.status(): this node's multimaster status", STATUS_COLUMNS,
                new String[] {"this node's id", "online, recovery, catchup, disabled or isolated",
                    "nodes connected with this one, itself included", "the current generation's number",
                    "the generation's members", "its members online", "the nodes configured in it"},
                new OpenType<?>[] {SimpleType.INTEGER, SimpleType.STRING, ids, SimpleType.LONG, ids, ids, ids});
            NODE = new CompositeType("org.mtm.Node", "a row of mtm.nodes()", NODES_COLUMNS,
                new String[] {"node id", "conninfo of its PostgreSQL", "this node", "an online member of this node's generation",
                    "connected with this node", "pid of the walsender feeding it (null: none)",
                    "pid of this node's receiver from it (null: none)", "apply workers for it", "disabled, recovery or normal"},
                new OpenType<?>[] {SimpleType.INTEGER, SimpleType.STRING, SimpleType.BOOLEAN, SimpleType.BOOLEAN,
                    SimpleType.BOOLEAN, SimpleType.INTEGER, SimpleType.INTEGER, SimpleType.STRING, SimpleType.STRING});
            NODES = new TabularType("org.mtm.Nodes", "mtm.nodes()", NODE, new String[] {"id"});
        } catch (OpenDataException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private StatusOpenData() {
    }

    static CompositeData status(StatusReport s) throws OpenDataException {
        return new CompositeDataSupport(STATUS, STATUS_COLUMNS, new Object[] {s.myNodeId(), s.status().sqlName(),
            s.connected().toArray(), s.genNum(), s.genMembers().toArray(), s.genMembersOnline().toArray(),
            s.genConfigured().toArray()});
    }

    static TabularData nodes(List<NodeReport> nodes) throws OpenDataException {
        TabularDataSupport table = new TabularDataSupport(NODES);
        for (NodeReport n : nodes) {
            table.put(new CompositeDataSupport(NODE, NODES_COLUMNS, new Object[] {n.id(), n.conninfo(), n.isSelf(),
                n.enabled(), n.connected(), n.senderPid(), n.receiverPid(), n.isSelf() ? "" : Integer.toString(n.nWorkers()),
                n.receiverMode() == null ? "" : n.receiverMode().sqlName()}));
        }
        return table;
    }
}
