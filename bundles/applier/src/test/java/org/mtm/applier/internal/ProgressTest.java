package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;

import java.sql.SQLException;
import org.junit.Test;

public class ProgressTest {

    @Test
    public void watermarkAdvancesOnlyOverAFinishedPrefix() {
        Progress p = new Progress(100);
        p.register(110);
        p.register(120);
        p.register(130);
        assertEquals(100, p.watermark());
        p.done(120);
        assertEquals("110 still runs", 100, p.watermark());
        assertEquals("a unit after an unfinished one records the watermark", 100, p.recordable(130));
        assertEquals("the first unfinished unit may record itself", 110, p.recordable(110));
        p.done(110);
        assertEquals(120, p.watermark());
        assertEquals(1, p.unfinished());
        p.done(130);
        assertEquals(130, p.watermark());
        assertEquals(0, p.unfinished());
        assertEquals(140, p.recordable(140));
    }

    @Test
    public void unitsMustComeInStreamOrder() {
        Progress p = new Progress(100);
        p.register(110);
        assertThrows(IllegalStateException.class, () -> p.register(105));
        assertThrows(IllegalStateException.class, () -> p.done(999));
    }

    @Test
    public void waitsEndWhenTheUnitsFinishOrAWorkerFails() throws Exception {
        Progress p = new Progress(0);
        p.register(10);
        p.register(20);
        Thread worker = new Thread(() -> {
            p.done(20);
            p.done(10);
        });
        worker.start();
        p.awaitUnit(20);
        p.awaitAll();
        assertEquals(20, p.watermark());

        p.register(30);
        SQLException failure = new SQLException("worker lost its connection", "08006");
        new Thread(() -> p.fail(failure)).start();
        Exception e = assertThrows(Exception.class, p::awaitAll);
        assertSame(failure, e);
    }
}
