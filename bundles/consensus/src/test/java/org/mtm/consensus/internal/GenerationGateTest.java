package org.mtm.consensus.internal;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Lock;
import org.junit.Test;
import org.mtm.api.Gid;

public class GenerationGateTest {

    private static GenerationGate gateIn(long generation) {
        GenerationGate gate = new GenerationGate();
        gate.loaded(generation);
        return gate;
    }

    @Test
    public void aPrepareFinishedBeforeTheSwitchStands() throws Exception {
        GenerationGate gate = gateIn(4);
        Gid gid = new Gid(1, 100, 4);
        assertTrue(gate.enter(gid));
        assertTrue(gate.leave(gid));
        gate.switchTo(5, () -> { });
        assertTrue("new transactions are stamped with the new generation", gate.enter(new Gid(1, 101, 5)));
    }

    @Test
    public void aPrepareInProgressAtTheSwitchIsDoomed() throws Exception {
        GenerationGate gate = gateIn(4);
        Gid gid = new Gid(1, 100, 4);
        assertTrue(gate.enter(gid));
        gate.switchTo(5, () -> { });
        assertFalse("its PREPARE may follow the marker", gate.leave(gid));
    }

    @Test
    public void aTransactionStampedWithAnOldGenerationDoesNotEnter() throws Exception {
        GenerationGate gate = gateIn(4);
        gate.switchTo(5, () -> { });
        assertFalse(gate.enter(new Gid(1, 100, 4)));
    }

    @Test
    public void nothingEntersWhileTheSwitchRunsAndAFailedSwitchKeepsTheOldGeneration() throws Exception {
        GenerationGate gate = gateIn(4);
        AtomicBoolean enteredDuring = new AtomicBoolean(true);
        try {
            gate.switchTo(5, () -> {
                enteredDuring.set(gate.enter(new Gid(1, 100, 4)) || gate.enter(new Gid(1, 101, 5)));
                throw new IllegalStateException("disk full");
            });
        } catch (IllegalStateException expected) {
            // the switch failed
        }
        assertFalse(enteredDuring.get());
        assertTrue(gate.enter(new Gid(1, 102, 4)));
    }

    @Test
    public void theSwitchWaitsForAnApplierPrepare() throws Exception {
        GenerationGate gate = gateIn(4);
        Lock applier = gate.applierLock();
        applier.lock();
        CountDownLatch switched = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                gate.switchTo(5, switched::countDown);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        t.start();
        assertFalse("switched while an applier PREPARE was running", switched.await(200, TimeUnit.MILLISECONDS));
        applier.unlock();
        assertTrue(switched.await(5, TimeUnit.SECONDS));
        t.join();
    }

    @Test
    public void aTransactionArrivingDuringTheSwitchIsToldToWaitForItsEnd() throws Exception {
        GenerationGate gate = gateIn(4);
        java.util.concurrent.atomic.AtomicReference<GenerationGate.Entry> during = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CompletableFuture<Void>> end =
            new java.util.concurrent.atomic.AtomicReference<>();
        gate.switchTo(5, () -> {
            during.set(gate.tryEnter(new Gid(1, 100, 4)));
            end.set(gate.switchEnded());
            org.junit.Assert.assertEquals(-1, gate.generation());
        });
        org.junit.Assert.assertEquals("nothing prepared yet: wait, not refuse", GenerationGate.Entry.SWITCHING, during.get());
        end.get().get(5, TimeUnit.SECONDS); // completed once the switch ended
        assertTrue(gate.switchEnded().isDone());
        org.junit.Assert.assertEquals(5, gate.generation());
        org.junit.Assert.assertEquals("stamped again after the switch", GenerationGate.Entry.ENTERED,
            gate.tryEnter(new Gid(1, 100, 5)));
        org.junit.Assert.assertEquals("a stale stamp outside a switch is refused", GenerationGate.Entry.STALE,
            gate.tryEnter(new Gid(1, 101, 4)));
    }
}
