package org.mtm.admin.internal;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.mtm.api.ClusterAdminException;
import org.mtm.api.Conninfo;
import org.mtm.api.NodeSet;

/** The conninfos given to init_cluster, parsed and checked before any node is contacted. Pure. */
final class InitPlan {
    private final List<String> texts;
    private final List<Conninfo> conninfos;

    private InitPlan(List<String> texts, List<Conninfo> conninfos) {
        this.texts = texts;
        this.conninfos = conninfos;
    }

    static InitPlan of(List<String> texts) throws ClusterAdminException {
        if (texts.size() < 2) {
            throw new ClusterAdminException("22023", "init_cluster needs this node's conninfo and at least one peer's"
                + " (3 or more data nodes, or 2 with a referee)");
        }
        if (texts.size() > NodeSet.MAX_NODE_ID) {
            throw new ClusterAdminException("22023", "init_cluster got " + texts.size() + " nodes; at most "
                + NodeSet.MAX_NODE_ID + " are supported");
        }
        List<Conninfo> parsed = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            if (text == null || text.isBlank()) {
                throw new ClusterAdminException("22023", "conninfo of node " + (i + 1) + " is empty");
            }
            Conninfo c;
            try {
                c = Conninfo.parse(text);
            } catch (IllegalArgumentException e) {
                throw new ClusterAdminException("22023", "conninfo of node " + (i + 1) + " ('" + text + "') is invalid: "
                    + e.getMessage(), e);
            }
            if (!seen.add(c.endpoints() + "/" + c.dbname().orElse(""))) {
                throw new ClusterAdminException("22023", "conninfo '" + text + "' is given twice; give every node once");
            }
            parsed.add(c);
        }
        return new InitPlan(List.copyOf(texts), List.copyOf(parsed));
    }

    int size() {
        return texts.size();
    }

    String text(int index) {
        return texts.get(index);
    }

    Conninfo conninfo(int index) {
        return conninfos.get(index);
    }
}
