package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.Test;
import org.mtm.api.RecoveryProgress;

/**
 * What the transport and the status publisher ask the supervisor — the recovery progress for every heartbeat, a
 * receiver's state, a stalled stream, a peer coming or going — is answered while the supervisor is busy
 * reconciling receivers (it holds its lock while they stop, which can take seconds). The transport asks on its I/O
 * thread: a heartbeat held up for heartbeat_recv_timeout made the peers drop the node (fault battery, a node's links
 * silent for 4.9 s while its receivers stopped after its PostgreSQL restarted).
 */
public class SupervisorReadersDoNotWaitTest {
    @Test
    public void readersAnswerWhileReceiversAreBeingReconciled() throws Exception {
        ReceiverSupervisor supervisor = new ReceiverSupervisor(null, (node, message) -> { }, new ApplierSettings(500, 1));
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread reconciling = new Thread(() -> {
            synchronized (supervisor) { // as reconcile() does while receivers stop
                held.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "reconciling");
        reconciling.start();
        try {
            assertTrue(held.await(5, TimeUnit.SECONDS));
            CompletableFuture<RecoveryProgress> recovery = CompletableFuture.supplyAsync(supervisor::recovery);
            assertEquals("not recovering", RecoveryProgress.NONE.donor(), recovery.get(2, TimeUnit.SECONDS).donor());
            CompletableFuture.supplyAsync(() -> supervisor.receiver(2)).get(2, TimeUnit.SECONDS);
            CompletableFuture.supplyAsync(supervisor::stalled).get(2, TimeUnit.SECONDS);
            CompletableFuture.runAsync(() -> supervisor.peerReachable(2)).get(2, TimeUnit.SECONDS);
            CompletableFuture.runAsync(() -> supervisor.peerUnreachable(2)).get(2, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            reconciling.join();
            supervisor.deactivate();
        }
    }
}
