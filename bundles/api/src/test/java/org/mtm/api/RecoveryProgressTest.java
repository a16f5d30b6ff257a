package org.mtm.api;

import static org.junit.Assert.assertEquals;

import java.util.Optional;
import org.junit.Test;

public class RecoveryProgressTest {

    @Test
    public void describesWhatRunsAndHowFarBehind() {
        assertEquals(Optional.empty(), RecoveryProgress.NONE.describe(NodeStatus.ONLINE));
        assertEquals(Optional.of("catching up from node 1: 1.5 MB behind its WAL end"),
            new RecoveryProgress(1, 0, false, 1536 * 1024).describe(NodeStatus.CATCHUP));
        assertEquals(Optional.of("recovering from node 2 up to its generation marker: 512 bytes behind its WAL end"),
            new RecoveryProgress(2, 7, false, 512).describe(NodeStatus.RECOVERY));
        assertEquals(Optional.of("catching up from node 2: how far behind not known yet (the WAL is gone at node(s) {1})"),
            new RecoveryProgress(2, 0, false, -1, NodeSet.of(1)).describe(NodeStatus.DISABLED));
        assertEquals(Optional.of("recovered from node 2 up to its generation marker"),
            new RecoveryProgress(2, 7, true, 0).describe(NodeStatus.RECOVERY));
        assertEquals("3.0 GB", RecoveryProgress.bytes(3L << 30));
    }
}
