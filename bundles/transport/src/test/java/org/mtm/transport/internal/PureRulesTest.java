package org.mtm.transport.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;
import org.mtm.api.NodeSet;
import org.mtm.testing.Await;

/** Reachability, backoff, timings, log limiting and retries: the transport's rules without sockets. */
public class PureRulesTest {
    private static final long MS = 1_000_000;

    @Test
    public void peerIsReachableWhileHeardWithinTheTimeout() {
        Reachability r = new Reachability();
        NodeSet peers = NodeSet.of(2, 3);
        assertTrue(r.evaluate(0, 500 * MS, peers).isEmpty());

        r.heard(2, 100 * MS);
        Reachability.Transitions t = r.evaluate(150 * MS, 500 * MS, peers);
        assertEquals(NodeSet.of(2), t.becameReachable());
        assertEquals(NodeSet.EMPTY, t.becameUnreachable());
        assertTrue(r.isReachable(2));

        assertTrue("no repeated transition", r.evaluate(599 * MS, 500 * MS, peers).isEmpty());
        t = r.evaluate(600 * MS, 500 * MS, peers);
        assertEquals(NodeSet.of(2), t.becameUnreachable());
        assertEquals(NodeSet.EMPTY, r.reachable());
    }

    @Test
    public void peersThatLeaveTheConfigurationBecomeUnreachable() {
        Reachability r = new Reachability();
        r.heard(2, 0);
        r.heard(3, 0);
        r.evaluate(1, 500 * MS, NodeSet.of(2, 3));
        assertEquals(NodeSet.of(2, 3), r.reachable());
        Reachability.Transitions t = r.evaluate(2, 500 * MS, NodeSet.of(2));
        assertEquals(NodeSet.of(3), t.becameUnreachable());
        r.forget(2);
        assertEquals(NodeSet.of(2), r.evaluate(3, 500 * MS, NodeSet.of(2)).becameUnreachable());
        assertEquals(NodeSet.EMPTY, r.clear());
    }

    @Test
    public void nanoTimeMayBeNegative() {
        Reachability r = new Reachability();
        r.heard(5, -1_000 * MS);
        assertEquals(NodeSet.of(5), r.evaluate(-900 * MS, 500 * MS, NodeSet.of(5)).becameReachable());
    }

    @Test
    public void backoffDoublesToItsCapAndResets() {
        Backoff b = new Backoff(50, 300);
        assertEquals(50, b.nextDelayMillis());
        assertEquals(100, b.nextDelayMillis());
        assertEquals(200, b.nextDelayMillis());
        assertEquals(300, b.nextDelayMillis());
        assertEquals(300, b.nextDelayMillis());
        b.reset();
        assertEquals(50, b.nextDelayMillis());
    }

    @Test
    public void timingsFollowTheManual() {
        TransportTimings d = TransportTimings.DEFAULTS;
        assertEquals(200, d.heartbeatSendMillis());
        assertEquals(2000, d.heartbeatRecvMillis());
        assertEquals(TransportTimings.DEFAULT_CONNECT_MILLIS, d.connectMillis());
        assertEquals("connect_timeout = 1 means 2 s", 2000, TransportTimings.fromManual(200, 2000, 1).connectMillis());
        assertEquals(5000, TransportTimings.fromManual(200, 2000, 5).connectMillis());
        assertEquals(TransportTimings.DEFAULT_CONNECT_MILLIS, TransportTimings.fromManual(200, 2000, -3).connectMillis());
        assertEquals("reconnects twice per receive timeout", 1000, d.reconnectMaxMillis());
        assertEquals(20, TransportTimings.fromManual(100, 200, 0).watchMillis());
    }

    @Test
    public void nonsenseTimingsAreRefusedWithTheKeyNames() {
        try {
            TransportTimings.fromManual(500, 500, 0);
            throw new AssertionError("accepted recv == send");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("heartbeat_recv_timeout (500 ms) must be greater than "
                + "heartbeat_send_timeout (500 ms)"));
        }
        try {
            TransportTimings.fromManual(0, 500, 0);
            throw new AssertionError("accepted send 0");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("heartbeat_send_timeout"));
        }
    }

    @Test
    public void logLimiterLetsOneWarningPerKeyAndInterval() {
        LogLimiter l = new LogLimiter(1000);
        assertTrue(l.shouldLog("a", 0));
        assertFalse(l.shouldLog("a", 999));
        assertTrue(l.shouldLog("b", 999));
        assertTrue(l.shouldLog("a", 1000));
    }

    @Test
    public void channelPropertyIsReadFromNumbersAndText() {
        assertEquals(Integer.valueOf(2), NettyTransport.channelOf(Map.of("mtm.channel", 2)));
        assertEquals(Integer.valueOf(4), NettyTransport.channelOf(Map.of("mtm.channel", " 4 ")));
        assertEquals(null, NettyTransport.channelOf(Map.of("mtm.channel", "x")));
        assertEquals(null, NettyTransport.channelOf(Map.of("mtm.channel", 70000)));
        assertEquals(null, NettyTransport.channelOf(Map.of()));
    }

    @Test
    public void retryingTaskRetriesUntilTheAttemptSucceeds() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1);
        try {
            AtomicInteger attempts = new AtomicInteger();
            RetryingTask task = new RetryingTask(executor, "test the retry", () -> {
                if (attempts.incrementAndGet() < 4) {
                    throw new java.sql.SQLException("database is starting", "57P03");
                }
            }, 1, 10).start();
            Await.until(5000, "fourth attempt to succeed", task::isDone);
            assertEquals(4, attempts.get());
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    public void cancelledRetryingTaskStops() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1);
        try {
            AtomicInteger attempts = new AtomicInteger();
            RetryingTask task = new RetryingTask(executor, "fail forever", () -> {
                attempts.incrementAndGet();
                throw new java.sql.SQLException("down");
            }, 20, 20).start();
            Await.until(5000, "a few attempts", () -> attempts.get() >= 2);
            task.cancel();
            int seen = attempts.get();
            Await.holds(100, "no attempt after cancel (beyond one in flight)", () -> attempts.get() <= seen + 1);
            assertFalse(task.isDone());
        } finally {
            executor.shutdownNow();
        }
    }
}
