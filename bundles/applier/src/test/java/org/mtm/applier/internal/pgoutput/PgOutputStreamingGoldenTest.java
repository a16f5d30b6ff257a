package org.mtm.applier.internal.pgoutput;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.BeforeClass;
import org.junit.Test;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.CommitPrepared;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Delete;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Insert;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.LogicalMessage;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.OldTupleKind;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Relation;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamAbort;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamCommit;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamPrepare;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamStart;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.StreamStop;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Truncate;
import org.mtm.applier.internal.pgoutput.PgOutputMessage.Update;

/**
 * The streaming golden set: transactions larger than logical_decoding_work_mem (64kB) sent in stream
 * blocks by PostgreSQL 15 with {@code streaming 'on'} and {@code two_phase 'on'}.
 */
public class PgOutputStreamingGoldenTest {

    private static GoldenSet set;

    @BeforeClass
    public static void load() {
        set = GoldenSet.load("streaming");
    }

    @Test
    public void coversEveryStreamingMessageKind() {
        Set<Character> types = new TreeSet<>();
        set.entries.forEach(e -> types.add(e.message().type()));
        assertTrue(types.toString(), types.containsAll(List.of('S', 'E', 'c', 'A', 'p', 'K', 'R', 'I', 'U', 'D', 'T', 'M')));
        for (GoldenSet.Entry e : set.entries) {
            assertEquals(e.file(), e.indexedType(), e.message().type());
            assertEquals(e.file(), e.indexedStep(), e.step());
        }
    }

    @Test
    public void changesCarryAnXidExactlyInsideStreamBlocks() {
        boolean inBlock = false;
        long blockXid = 0;
        PgOutputDecoder decoder = new PgOutputDecoder();
        for (GoldenSet.Entry e : set.entries) {
            PgOutputMessage m = decoder.decode(e.bytes());
            if (m instanceof StreamStart s) {
                assertFalse(e.file(), inBlock);
                inBlock = true;
                blockXid = s.xid();
                assertTrue(decoder.inStreamBlock());
            } else if (m instanceof StreamStop) {
                assertTrue(e.file(), inBlock);
                inBlock = false;
                assertFalse(decoder.inStreamBlock());
            } else {
                long xid = changeXid(m);
                if (xid >= 0) {
                    if (inBlock) {
                        // the (sub)transaction's xid: the block's xid or a subtransaction's, which is higher
                        assertTrue(e.file() + " xid " + xid + " in block of " + blockXid, xid >= blockXid);
                    } else {
                        assertEquals(e.file(), PgOutputMessage.NO_XID, xid);
                    }
                }
            }
        }
        assertFalse(inBlock);
    }

    @Test
    public void streamedCommitArrivesInSeveralBlocksThenStreamCommit() {
        List<PgOutputMessage> step = set.step("stream-commit");
        List<StreamStart> starts = set.all("stream-commit", StreamStart.class);
        assertTrue("the transaction must exceed 64kB more than once", starts.size() >= 2);
        long xid = starts.get(0).xid();
        assertTrue(starts.get(0).firstSegment());
        for (StreamStart s : starts.subList(1, starts.size())) {
            assertFalse(s.firstSegment());
            assertEquals(xid, s.xid());
        }
        assertEquals(starts.size(), set.all("stream-commit", StreamStop.class).size());

        LogicalMessage ddl = set.all("stream-commit", LogicalMessage.class).get(1);
        assertTrue(ddl.transactional());
        assertEquals(xid, ddl.xid());
        assertEquals("inside a streamed transaction", ddl.contentText());

        Relation bulk = set.all("stream-commit", Relation.class).get(0);
        assertEquals("bulk", bulk.name());
        assertEquals(xid, bulk.xid());

        List<Insert> inserts = set.all("stream-commit", Insert.class);
        assertEquals(61, inserts.size()); // 60 bulk rows + 1 side row
        Insert first = inserts.get(0);
        assertEquals(xid, first.xid());
        assertEquals("1", first.newTuple().text(0));
        assertEquals("c4ca4238a0b923820dcc509a6f75849b".repeat(56), first.newTuple().text(1));

        Update u = set.only("stream-commit", Update.class);
        assertEquals(xid, u.xid());
        assertEquals(OldTupleKind.NONE, u.oldKind());
        PgOutputGoldenTest.assertTexts(u.newTuple(), "1", "short");
        Delete d = set.only("stream-commit", Delete.class);
        assertEquals(xid, d.xid());
        PgOutputGoldenTest.assertTexts(d.oldTuple(), "2", null);
        Truncate t = set.only("stream-commit", Truncate.class);
        assertEquals(xid, t.xid());
        assertEquals(0, t.options());
        assertEquals("public.side", set.relations().require(t.relationId(0)).qualifiedName());

        StreamCommit c = set.only("stream-commit", StreamCommit.class);
        assertEquals(xid, c.xid());
        assertEquals(0, c.flags());
        assertTrue(c.endLsn() > c.commitLsn());
        assertTrue(c.commitInstant().isAfter(java.time.Instant.parse("2020-01-01T00:00:00Z")));
        assertEquals('c', step.get(step.size() - 1).type());
    }

    @Test
    public void abortedStreamedTransactionEndsWithStreamAbortOfTheWholeTransaction() {
        StreamStart s = set.all("stream-abort", StreamStart.class).get(0);
        StreamAbort a = set.only("stream-abort", StreamAbort.class);
        assertEquals(s.xid(), a.xid());
        assertEquals(a.xid(), a.subXid());
        assertTrue(a.wholeTransaction());
        assertTrue(set.all("stream-abort", StreamCommit.class).isEmpty());
        List<PgOutputMessage> step = set.step("stream-abort");
        assertEquals('A', step.get(step.size() - 1).type());
    }

    @Test
    public void rolledBackSavepointIsAbortedAlone() {
        StreamAbort a = set.only("stream-subabort", StreamAbort.class);
        assertFalse(a.wholeTransaction());
        assertNotEquals(a.xid(), a.subXid());
        assertEquals(a.xid(), set.only("stream-subabort", StreamCommit.class).xid());
        // what a receiver must do: keep changes per (sub)xid, drop a subtransaction's on its abort
        assertEquals(List.of("2000", "2100"), applyStreamed("stream-subabort"));
    }

    @Test
    public void streamedPrepareThenCommitPrepared() {
        StreamStart s = set.all("stream-prepare", StreamStart.class).get(0);
        StreamPrepare p = set.only("stream-prepare", StreamPrepare.class);
        assertEquals("MTM-1-300-1", p.gid());
        assertEquals(s.xid(), p.xid());
        assertEquals(0, p.flags());
        assertTrue(p.endLsn() > p.prepareLsn());
        assertEquals(60, set.all("stream-prepare", Insert.class).size());
        List<PgOutputMessage> step = set.step("stream-prepare");
        assertEquals('p', step.get(step.size() - 1).type());

        CommitPrepared k = set.only("stream-commit-prepared", CommitPrepared.class);
        assertEquals("MTM-1-300-1", k.gid());
        assertEquals(p.xid(), k.xid());
        assertTrue(k.commitLsn() >= p.endLsn());
    }

    /** Row ids (column 0 of inserts) a streamed transaction leaves once its aborts are applied. */
    private static List<String> applyStreamed(String step) {
        Map<Long, List<String>> bySubXid = new LinkedHashMap<>();
        for (PgOutputMessage m : set.step(step)) {
            if (m instanceof Insert i) {
                bySubXid.computeIfAbsent(i.xid(), x -> new ArrayList<>()).add(i.newTuple().text(0));
            } else if (m instanceof StreamAbort a) {
                bySubXid.remove(a.subXid());
            }
        }
        List<String> rows = new ArrayList<>();
        bySubXid.values().forEach(rows::addAll);
        return rows;
    }

    /** The optional streaming xid of a message, or -1 for messages that have none. */
    private static long changeXid(PgOutputMessage m) {
        if (m instanceof Insert i) {
            return i.xid();
        } else if (m instanceof Update u) {
            return u.xid();
        } else if (m instanceof Delete d) {
            return d.xid();
        } else if (m instanceof Truncate t) {
            return t.xid();
        } else if (m instanceof Relation r) {
            return r.xid();
        } else if (m instanceof PgOutputMessage.Type y) {
            return y.xid();
        } else if (m instanceof LogicalMessage l) {
            return l.xid();
        }
        return -1;
    }
}
