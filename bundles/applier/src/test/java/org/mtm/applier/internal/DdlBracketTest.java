package org.mtm.applier.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;
import org.mtm.api.ReplicatedDdl;

/**
 * A bracket's statement waits, runs once at the first thing that needs it, and an {@code mtm.ddl_local} before that
 * drops it. The run itself (ApplySession#executeDdl) is the appliers' tests'; here the step only counts its calls.
 */
public class DdlBracketTest {
    private static final byte[] CONTENT = new byte[] {1};

    private final AtomicInteger steps = new AtomicInteger();

    private boolean run(DdlBracket b, boolean applying) throws Exception {
        return b.run(null, applying, work -> steps.incrementAndGet() > 0, ddl -> { });
    }

    @Test
    public void theStatementRunsOnceAtTheFirstThingThatNeedsIt() throws Exception {
        DdlBracket b = new DdlBracket();
        b.open(new ReplicatedDdl("public", "", "ALTER TABLE t ADD c int"), CONTENT);
        assertTrue(b.isOpen());
        assertFalse(b.runsAtOnce());
        assertTrue(run(b, true));
        assertFalse("nothing waits any more: the applier's answer", run(b, false));
        assertEquals(1, steps.get());
    }

    @Test
    public void aNodeLocalStatementIsDroppedUnrun() throws Exception {
        DdlBracket b = new DdlBracket();
        ReplicatedDdl ddl = new ReplicatedDdl("public", "", "CREATE INDEX ON t (c)");
        b.open(ddl, CONTENT);
        assertSame(ddl, b.drop());
        assertNull(b.drop());
        assertTrue(run(b, true));
        assertEquals(0, steps.get());
        assertTrue("the bracket stays open until its end", b.isOpen());
    }

    @Test
    public void aStatementThatWritesRowsSkipsThemUntilTheEnd() {
        DdlBracket b = new DdlBracket();
        b.open(new ReplicatedDdl("public", "", "CREATE TABLE n AS SELECT 1", "public.n"), CONTENT);
        assertTrue(b.runsAtOnce());
        assertTrue(b.skipsRows());
        b.close();
        assertFalse(b.isOpen());
        assertFalse(b.skipsRows());
    }
}
