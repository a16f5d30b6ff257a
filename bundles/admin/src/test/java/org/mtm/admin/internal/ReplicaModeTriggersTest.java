package org.mtm.admin.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.util.List;
import org.junit.Test;
import org.mtm.admin.internal.ReplicaModeTriggers.Found;
import org.mtm.api.ClusterAdminException;

/** The refusal of a node whose user triggers fire in replica mode names each and the statement that fixes it. */
public class ReplicaModeTriggersTest {

    @Test
    public void noTriggerNoRefusal() {
        assertNull(ReplicaModeTriggers.refusal("node 1 (host=a)", List.of()));
    }

    @Test
    public void theRefusalNamesEveryTriggerAndItsFix() {
        ClusterAdminException e = ReplicaModeTriggers.refusal("node 2 (host=b)", List.of(
            new Found("event trigger ddl_log", "REPLICA", "ALTER EVENT TRIGGER ddl_log ENABLE"),
            new Found("trigger audit on public.t", "ALWAYS", "ALTER TABLE public.t ENABLE TRIGGER audit")));
        assertEquals("55000", e.sqlState());
        assertEquals("node 2 (host=b) has triggers or rules set to fire in replica mode: event trigger ddl_log (ENABLE REPLICA),"
            + " trigger audit on public.t (ENABLE ALWAYS). The cluster applies the other nodes' rows and DDL there in"
            + " replica mode, where such a trigger fires again after it fired on the origin, and one that writes leaves"
            + " every node rows of its own. Make each fire only on the node where the transaction runs (what it writes"
            + " then reaches the other nodes as rows), then retry: ALTER EVENT TRIGGER ddl_log ENABLE;"
            + " ALTER TABLE public.t ENABLE TRIGGER audit", e.getMessage());
    }
}
