package org.mtm.itests.replication;

import java.sql.Connection;
import java.time.Duration;

import org.junit.ClassRule;
import org.junit.Test;
import org.mtm.itests.harness.KarafNode;
import org.mtm.itests.harness.LocalCluster;

/**
 * Issue 3 point 3, "each applied transaction applied exactly once across restarts of the node": writers on every
 * gateway while node 2's Karaf is killed -9 (its PostgreSQL keeps running, as after a crash of the JVM) and started
 * again, then stopped gracefully (its managed PostgreSQL stops with it) and started again. Transactions node 2 had
 * applied and prepared when it went away are finished from the streams after its restart, from where its
 * replication origins say it was; {@link WriteLoad} then checks that every acknowledged write is on every node, no
 * refused one anywhere, and nothing twice (its table without a primary key would show a second apply).
 *
 * <p>While node 2 is away for longer than heartbeat_recv_timeout the other two refuse work (57P03: there is no
 * generation switch yet) and the writers wait; the point here is what happens to the transactions, not
 * availability. Node 2's own clients write through the kill too: a transaction it coordinated and had prepared when it
 * died is decided by the resolver (its restarted coordinator, or the others while it is away) — before the resolver
 * this left prepared transactions on every node, holding their locks. A session of node 2 with a temporary table
 * (a node-local stand-in, issue 12) is open when its Karaf is killed: afterwards no stand-in of it is left.
 */
public class NodeRestartIT {
    private static final String WHO = "NodeRestartIT";
    @ClassRule
    public static final WriteLoad.Cluster CLUSTER = new WriteLoad.Cluster("node-restart");

    @Test
    public void everyAcknowledgedWriteEverywhereNothingTwiceAcrossRestartsOfANode() throws Exception {
        KarafNode node2 = CLUSTER.get().node(2);
        // a client session of node 2 holds a temporary table (issue 12) when its Karaf dies: none is left afterwards
        Connection withTemporaryTable = TemporaryStandIns.openSession(CLUSTER.get(), 2, "temp_staged");
        // node 2 coordinates its own clients' transactions and applies, prepares and votes on those of nodes 1 and 3;
        // what it had in flight when killed is in doubt, and the resolver decides it
        round(1, "kill -9 and start", () -> {
            node2.killKaraf();
            node2.start().awaitReady(LocalCluster.BOOT);
        }, 1, 2, 3);
        TemporaryStandIns.closeQuietly(withTemporaryTable);
        TemporaryStandIns.assertNoneLeft(CLUSTER.get(), 2);
        // a graceful stop: node 2's own transactions too (its gateway finishes or aborts them before it stops)
        round(2, "stop and start", () -> {
            node2.stop(Duration.ofSeconds(60));
            node2.start().awaitReady(LocalCluster.BOOT);
        }, 1, 2, 3);
    }

    /**
     * Writers on the gateways of {@code writers} (ids of {@code round}); {@code restart} of node 2 under them; node 2
     * normal again and the writes going on; then WriteLoad's checks.
     */
    private static void round(int round, String restart, Runnable action, int... writers) throws Exception {
        WriteLoad load = WriteLoad.start(CLUSTER.get(), WHO, round, writers);
        try {
            load.awaitProgress(30, Duration.ofSeconds(90), "before " + restart);
            long t = System.nanoTime();
            action.run();
            WriteLoad.awaitNormal(CLUSTER.get(), 2, "after " + restart);
            TestCluster.log(WHO, "%s: node 2 normal again after %d ms", restart, TestCluster.millisSince(t));
            load.awaitProgress(30, Duration.ofSeconds(120), "after " + restart);
        } finally {
            load.stop();
        }
        load.stopAndCheck();
    }
}
