package org.mtm.consensus.internal;

import static org.junit.Assert.assertEquals;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.Test;
import org.mtm.api.NodeStatus;

public class StatusMemoTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final StatusMemo memo = new StatusMemo(100, now::get);
    private final AtomicInteger computed = new AtomicInteger();
    private volatile NodeStatus actual = NodeStatus.ONLINE;
    private final Supplier<NodeStatus> compute = () -> {
        computed.incrementAndGet();
        return actual;
    };

    @Test
    public void reusedWithinTheWindowComputedAfter() {
        assertEquals(NodeStatus.ONLINE, memo.get(compute));
        actual = NodeStatus.ISOLATED;
        now.addAndGet(99);
        assertEquals("still within the window", NodeStatus.ONLINE, memo.get(compute));
        assertEquals(1, computed.get());
        now.addAndGet(1);
        assertEquals(NodeStatus.ISOLATED, memo.get(compute));
        assertEquals(2, computed.get());
    }

    @Test
    public void anInvalidationIsSeenAtOnce() {
        memo.get(compute);
        actual = NodeStatus.DISABLED;
        memo.invalidate();
        assertEquals(NodeStatus.DISABLED, memo.get(compute));
        assertEquals(NodeStatus.DISABLED, memo.get(compute));
        assertEquals("computed again once, then reused", 2, computed.get());
    }

    @Test
    public void anInvalidationDuringTheComputationIsNotLost() {
        // the owner changes an input while a status is being computed from the old one: that result must not be reused
        NodeStatus first = memo.get(() -> {
            memo.invalidate();
            actual = NodeStatus.RECOVERY;
            return NodeStatus.ONLINE;
        });
        assertEquals(NodeStatus.ONLINE, first);
        assertEquals(NodeStatus.RECOVERY, memo.get(compute));
    }
}
