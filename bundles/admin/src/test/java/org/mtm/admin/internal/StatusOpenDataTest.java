package org.mtm.admin.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.List;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import org.junit.Test;
import org.mtm.api.NodeReport;
import org.mtm.api.NodeSet;
import org.mtm.api.NodeStatus;
import org.mtm.api.ReceiverMode;
import org.mtm.api.StatusReport;

public class StatusOpenDataTest {

    @Test
    public void statusHasTheManualsColumns() throws Exception {
        CompositeData s = StatusOpenData.status(new StatusReport(2, NodeStatus.ONLINE, NodeSet.of(1, 2), 7, NodeSet.of(1, 2, 3),
            NodeSet.of(1, 2), NodeSet.of(1, 2, 3)));
        assertEquals(List.of("connected", "gen_configured", "gen_members", "gen_members_online", "gen_num", "my_node_id", "status"),
            List.copyOf(s.getCompositeType().keySet()));
        assertEquals(2, s.get("my_node_id"));
        assertEquals("online", s.get("status"));
        assertArrayEquals(new int[] {1, 2}, (int[]) s.get("connected"));
        assertEquals(7L, s.get("gen_num"));
        assertArrayEquals(new int[] {1, 2, 3}, (int[]) s.get("gen_members"));
        assertArrayEquals(new int[] {1, 2}, (int[]) s.get("gen_members_online"));
        assertArrayEquals(new int[] {1, 2, 3}, (int[]) s.get("gen_configured"));
    }

    @Test
    public void nodesAreRowsByIdWithNullPids() throws Exception {
        TabularData t = StatusOpenData.nodes(List.of(
            new NodeReport(1, "host=a port=1", true, true, true, null, null, 0, null),
            new NodeReport(2, "host=b port=2", false, true, false, 4711, null, 3, ReceiverMode.RECOVERY)));
        assertEquals(2, t.size());
        CompositeData self = t.get(new Object[] {1});
        assertEquals(true, self.get("is_self"));
        assertEquals("", self.get("n_workers"));
        assertEquals("", self.get("receiver_mode"));
        CompositeData peer = t.get(new Object[] {2});
        assertEquals("host=b port=2", peer.get("conninfo"));
        assertEquals(false, peer.get("connected"));
        assertEquals(4711, peer.get("sender_pid"));
        assertNull(peer.get("receiver_pid"));
        assertEquals("3", peer.get("n_workers"));
        assertEquals("recovery", peer.get("receiver_mode"));
    }
}
