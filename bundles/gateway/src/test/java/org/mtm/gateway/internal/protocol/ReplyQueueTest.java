package org.mtm.gateway.internal.protocol;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.Test;

public class ReplyQueueTest {
    private static final ReplySink SINK_A = new ReplySink() { };
    private static final ReplySink SINK_B = new ReplySink() { };

    @Test
    public void endingRepliesPerRequest() {
        String[][] rows = {
            // kind, replies that end it, replies that do not
            {"PARSE", "1", "E2CZ"},
            {"BIND", "2", "1CZ"},
            {"DESCRIBE", "Tn", "tZ"},
            {"EXECUTE", "CIs", "DdGHcNZ"},
            {"CLOSE", "3", "Z"},
            {"SYNC", "Z", "E"},
            {"QUERY", "Z", "TDCIEGHdc"},
            {"FUNCTION", "Z", "VE"},
            {"STARTUP", "Z", "RSKE"},
            {"OWN_SYNCED", "Z", "123CDE"},
        };
        for (String[] row : rows) {
            int kind = kind(row[0]);
            for (char c : row[1].toCharArray()) {
                assertTrue(row[0] + " ends at " + c, ReplyQueue.ends(kind, (byte) c));
            }
            for (char c : row[2].toCharArray()) {
                assertFalse(row[0] + " goes on after " + c, ReplyQueue.ends(kind, (byte) c));
            }
        }
        assertFalse(ReplyQueue.ends(ReplyQueue.COPY_END, (byte) 'Z'));
        assertTrue(ReplyQueue.extended(ReplyQueue.EXECUTE));
        assertFalse(ReplyQueue.extended(ReplyQueue.QUERY));
        assertFalse(ReplyQueue.extended(ReplyQueue.SYNC));
    }

    private static int kind(String name) {
        try {
            return ReplyQueue.class.getField(name).getInt(null);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void errorDropsEverythingUpToTheNextSync() {
        ReplyQueue q = new ReplyQueue();
        q.add(ReplyQueue.PARSE);
        q.add(ReplyQueue.BIND);
        q.add(ReplyQueue.OWN_UNSYNCED, SINK_A);
        q.add(ReplyQueue.EXECUTE);
        q.add(ReplyQueue.SYNC);
        q.add(ReplyQueue.QUERY);
        q.pop(); // PARSE answered, BIND fails
        q.pop();
        List<ReplySink> dropped = new ArrayList<>();
        assertTrue(q.dropUntilSync(dropped::add));
        assertEquals(List.of(SINK_A), dropped);
        assertEquals(ReplyQueue.SYNC, q.headKind());
        assertEquals(2, q.size());
        q.pop();
        assertEquals(ReplyQueue.QUERY, q.headKind());
        q.pop();
        assertFalse(q.dropUntilSync(dropped::add));
        assertTrue(q.isEmpty());
    }

    @Test
    public void copyInRemovesTheSyncsTheServerIgnoresAndTheCopyEndMarker() {
        ReplyQueue q = new ReplyQueue();
        q.add(ReplyQueue.EXECUTE); // COPY ... FROM STDIN
        q.add(ReplyQueue.SYNC); // sent early by libpq, ignored inside COPY
        q.add(ReplyQueue.COPY_END);
        q.add(ReplyQueue.SYNC); // after CopyDone: answered
        assertTrue(q.copyInStarted());
        assertEquals(2, q.size());
        q.pop();
        assertEquals(ReplyQueue.SYNC, q.headKind());

        ReplyQueue open = new ReplyQueue();
        open.add(ReplyQueue.QUERY);
        open.add(ReplyQueue.SYNC);
        assertFalse(open.copyInStarted()); // CopyDone not sent yet
        assertEquals(1, open.size());
    }

    @Test
    public void copyEndMarkersExpectNoReply() {
        ReplyQueue q = new ReplyQueue();
        q.add(ReplyQueue.QUERY);
        q.add(ReplyQueue.COPY_END);
        q.add(ReplyQueue.COPY_END);
        q.add(ReplyQueue.SYNC);
        q.pop();
        assertEquals(ReplyQueue.SYNC, q.headKind());
    }

    @Test
    public void sinksFollowTheirEntriesAndTheRingGrows() {
        ReplyQueue q = new ReplyQueue();
        for (int i = 0; i < 1000; i++) {
            q.add(ReplyQueue.EXECUTE);
            q.add(ReplyQueue.SYNC, i % 2 == 0 ? SINK_A : SINK_B);
        }
        assertEquals(2000, q.size());
        assertEquals(1000, q.pendingReady());
        for (int i = 0; i < 1000; i++) {
            assertNull(q.headSink());
            q.pop();
            assertSame(i % 2 == 0 ? SINK_A : SINK_B, q.headSink());
            q.pop();
        }
        assertTrue(q.isEmpty());
        assertEquals(0, q.headKind());
        q.add(ReplyQueue.QUERY, SINK_B);
        List<ReplySink> dropped = new ArrayList<>();
        q.clear(dropped::add);
        assertEquals(List.of(SINK_B), dropped);
    }
}
