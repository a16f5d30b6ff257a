package org.mtm.web.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mtm.api.InDoubtTransactions;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.StatusReport;

/**
 * The status page's data, as this node sees the cluster: its own status (the manual's word) and generation, each
 * configured node with what this node knows of it, the in-doubt transactions here, and the charts' series. Pure: built
 * from {@code mtm.status()}, {@code mtm.nodes()}, {@code mtm.in_doubt} rows and the history, then written as JSON.
 */
final class StatusDocument {

    private StatusDocument() {
    }

    /**
     * What the page shows for a node. This node: its own status. A peer: {@code disconnected} when this node does not
     * hear it both ways; {@code online} when it is an online member of this node's generation; otherwise
     * {@code connected} (it is catching up, recovering, or outside the generation).
     */
    static String nodeState(StatusReport self, NodeReport node) {
        if (node.isSelf()) {
            return self.status().sqlName();
        }
        if (!node.connected()) {
            return "disconnected";
        }
        return self.genMembersOnline().contains(node.id()) ? "online" : "connected";
    }

    /** {@code status} null: the node has not read its state yet (or is not initialised); the page says so. */
    static String json(StatusReport status, List<NodeReport> nodes, List<InDoubtTransactions.Row> inDoubt, StatusHistory.Series series,
                       long nowMs) {
        return json(status, null, List.of(), nodes, inDoubt, series, nowMs);
    }

    /**
     * {@code recovery}: what this node's catch-up or recovery says of itself ({@code RecoveryProgress#describe}), or
     * null; {@code settingsDiffer}: the {@code org.mtm.multimaster} values a reachable peer runs with otherwise.
     */
    static String json(StatusReport status, String recovery, List<String> settingsDiffer, List<NodeReport> nodes,
                       List<InDoubtTransactions.Row> inDoubt, StatusHistory.Series series, long nowMs) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("time", nowMs);
        if (status == null || status.myNodeId() == 0) {
            doc.put("initialised", false);
        } else {
            doc.put("initialised", true);
            Map<String, Object> self = new LinkedHashMap<>();
            self.put("id", status.myNodeId());
            self.put("status", status.status().sqlName());
            self.put("generation", status.genNum());
            self.put("members", ids(status.genMembers()));
            self.put("membersOnline", ids(status.genMembersOnline()));
            self.put("configured", ids(status.genConfigured()));
            self.put("connected", ids(status.connected()));
            if (recovery != null) {
                self.put("recovery", recovery);
            }
            if (!settingsDiffer.isEmpty()) {
                self.put("settingsDiffer", settingsDiffer);
            }
            doc.put("self", self);
            List<Object> rows = new ArrayList<>();
            for (NodeReport n : nodes) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("id", n.id());
                row.put("self", n.isSelf());
                row.put("state", nodeState(status, n));
                row.put("connected", n.isSelf() || n.connected());
                row.put("member", status.genMembers().contains(n.id()));
                row.put("receiverMode", n.isSelf() ? null : n.receiverMode().sqlName());
                row.put("conninfo", n.conninfo());
                rows.add(row);
            }
            doc.put("nodes", rows);
        }
        List<Object> doubts = new ArrayList<>();
        for (InDoubtTransactions.Row d : inDoubt) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("gid", d.gid());
            row.put("origin", d.originNode());
            row.put("generation", d.generation());
            row.put("state", d.state());
            row.put("ageMs", d.ageMs());
            doubts.add(row);
        }
        doc.put("inDoubt", doubts);
        Map<String, Object> charts = new LinkedHashMap<>();
        charts.put("time", series.time());
        charts.put("commitsPerSecond", series.commitsPerSecond());
        charts.put("appliedPerSecond", series.appliedPerSecond());
        Map<String, Object> lag = new LinkedHashMap<>();
        series.lagBytes().forEach((peer, values) -> lag.put(Integer.toString(peer), values));
        charts.put("lagBytes", lag);
        doc.put("charts", charts);
        return Json.write(doc);
    }

    private static List<Integer> ids(NodeSet set) {
        return set.ids();
    }
}
