package org.mtm.web.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.mtm.api.InDoubtTransactions;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.ReceiverMode;
import org.mtm.api.StatusReport;

public class StatusDocumentTest {

    private static final StatusReport NODE1_GEN5 = new StatusReport(1, NodeStatus.ONLINE, NodeSet.of(1, 2), 5,
        NodeSet.of(1, 2), NodeSet.of(1, 2), NodeSet.of(1, 2, 3));

    private static NodeReport node(int id, boolean self, boolean connected, ReceiverMode mode) {
        return new NodeReport(id, "host=127.0.0.1 port=" + (5000 + id), self, true, connected, null, null, 1, mode);
    }

    @Test
    public void eachNodeAsThisNodeSeesIt() {
        assertEquals("online", StatusDocument.nodeState(NODE1_GEN5, node(1, true, true, ReceiverMode.DISABLED)));
        assertEquals("online", StatusDocument.nodeState(NODE1_GEN5, node(2, false, true, ReceiverMode.NORMAL)));
        assertEquals("disconnected", StatusDocument.nodeState(NODE1_GEN5, node(3, false, false, ReceiverMode.DISABLED)));
        assertEquals("connected but not an online member (catching up)", "connected",
            StatusDocument.nodeState(NODE1_GEN5, node(3, false, true, ReceiverMode.RECOVERY)));
        StatusReport isolated = new StatusReport(3, NodeStatus.ISOLATED, NodeSet.of(3), 4, NodeSet.of(1, 2, 3),
            NodeSet.of(3), NodeSet.of(1, 2, 3));
        assertEquals("isolated", StatusDocument.nodeState(isolated, node(3, true, true, ReceiverMode.DISABLED)));
    }

    @Test
    public void theDocument() {
        StatusHistory h = new StatusHistory(5);
        h.record(new StatusHistory.Sample(1000, 0, 0, Map.of(2, 0L)));
        h.record(new StatusHistory.Sample(2000, 4, 2, Map.of(2, 128L)));
        String json = StatusDocument.json(NODE1_GEN5, List.of(node(1, true, true, ReceiverMode.DISABLED),
                node(2, false, true, ReceiverMode.NORMAL), node(3, false, false, ReceiverMode.DISABLED)),
            List.of(new InDoubtTransactions.Row("MTM-2-7-\"x\"", 2, 5, "precommitted", "2026-12-05 14:00:00+00", 1234)), h.series(), 42);
        assertEquals("{\"time\":42,\"initialised\":true,\"self\":{\"id\":1,\"status\":\"online\",\"generation\":5,"
            + "\"members\":[1,2],\"membersOnline\":[1,2],\"configured\":[1,2,3],\"connected\":[1,2]},\"nodes\":["
            + "{\"id\":1,\"self\":true,\"state\":\"online\",\"connected\":true,\"member\":true,\"receiverMode\":null,\"conninfo\":\"host=127.0.0.1 port=5001\"},"
            + "{\"id\":2,\"self\":false,\"state\":\"online\",\"connected\":true,\"member\":true,\"receiverMode\":\"normal\",\"conninfo\":\"host=127.0.0.1 port=5002\"},"
            + "{\"id\":3,\"self\":false,\"state\":\"disconnected\",\"connected\":false,\"member\":false,\"receiverMode\":\"disabled\",\"conninfo\":\"host=127.0.0.1 port=5003\"}],"
            + "\"inDoubt\":[{\"gid\":\"MTM-2-7-\\\"x\\\"\",\"origin\":2,\"generation\":5,\"state\":\"precommitted\",\"ageMs\":1234}],"
            + "\"charts\":{\"time\":[2],\"commitsPerSecond\":[4.000],\"appliedPerSecond\":[2.000],\"lagBytes\":{\"2\":[128]}}}", json);
    }

    @Test
    public void aRecoveryUnderWaySaysHowFarBehind() {
        String json = StatusDocument.json(NODE1_GEN5, "catching up from node 2: 1.5 MB behind its WAL end",
            List.of("node 2: heartbeat_recv_timeout = 5000 (here 2000)"), List.of(), List.of(), new StatusHistory(2).series(), 1);
        assertTrue(json, json.contains("\"connected\":[1,2],\"recovery\":\"catching up from node 2: 1.5 MB behind its WAL end\","
            + "\"settingsDiffer\":[\"node 2: heartbeat_recv_timeout = 5000 (here 2000)\"]}"));
    }

    @Test
    public void beforeTheStateIsKnownAndWithMarkupInStrings() {
        String json = StatusDocument.json(null, List.of(), List.of(), new StatusHistory(2).series(), 7);
        assertTrue(json, json.startsWith("{\"time\":7,\"initialised\":false,\"inDoubt\":[]"));
        assertEquals("\"\\u003c/script\\u003e\"", Json.write("</script>"));
    }
}
