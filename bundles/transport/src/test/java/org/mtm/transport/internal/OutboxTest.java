package org.mtm.transport.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class OutboxTest {

    /** Counts the flushes and writes that reach the wire end of the pipeline. */
    private static final class WireSide extends ChannelOutboundHandlerAdapter {
        int flushes;
        int writes;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            writes++;
            ctx.write(msg, promise);
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
            flushes++;
            ctx.flush();
        }
    }

    private static ByteBuf frame(int n) {
        return Unpooled.buffer(4).writeInt(n);
    }

    private static List<Integer> written(EmbeddedChannel ch) {
        List<Integer> out = new ArrayList<>();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.add(b.readInt());
            b.release();
        }
        return out;
    }

    @Test
    public void framesQueuedWhileADrainIsScheduledGoOutInOrderWithOneTaskAndOneFlush() {
        WireSide wire = new WireSide();
        EmbeddedChannel ch = new EmbeddedChannel(wire);
        TransportCounters counters = new TransportCounters();
        Outbox outbox = new Outbox(ch, counters);
        for (int i = 1; i <= 5; i++) {
            outbox.offer(frame(i));
        }
        assertEquals("nothing is written before the loop runs the drain", 0, wire.writes);
        assertEquals(20, outbox.queuedBytes());
        ch.runPendingTasks();
        assertEquals(List.of(1, 2, 3, 4, 5), written(ch));
        assertEquals("one flush for the whole burst", 1, wire.flushes);
        assertEquals(0, outbox.queuedBytes());
        assertEquals(5, counters.framesWritten());
        assertEquals("one drain", 1, counters.writeBatches());

        // the next burst schedules the next drain
        outbox.offer(frame(6));
        outbox.offer(frame(7));
        ch.runPendingTasks();
        assertEquals(List.of(6, 7), written(ch));
        assertEquals(2, wire.flushes);
        assertEquals(2, counters.writeBatches());
        ch.runPendingTasks();
        assertEquals("no empty drain, no extra flush", 2, wire.flushes);
        ch.finishAndReleaseAll();
    }

    @Test
    public void aLongQueueIsWrittenInBoundedDrainsThatRescheduleThemselvesInOrder() {
        WireSide wire = new WireSide();
        EmbeddedChannel ch = new EmbeddedChannel(wire);
        TransportCounters counters = new TransportCounters();
        Outbox outbox = new Outbox(ch, counters);
        int n = Outbox.MAX_FRAMES_PER_DRAIN * 2 + 3;
        for (int i = 0; i < n; i++) {
            outbox.offer(frame(i));
        }
        ch.runPendingTasks(); // runs the drains queued meanwhile too
        List<Integer> out = written(ch);
        assertEquals(n, out.size());
        for (int i = 0; i < n; i++) {
            assertEquals(i, (int) out.get(i));
        }
        assertEquals(3, wire.flushes);
        assertEquals(3, counters.writeBatches());
        ch.finishAndReleaseAll();
    }

    @Test
    public void framesForAClosedChannelAreReleased() {
        EmbeddedChannel ch = new EmbeddedChannel();
        Outbox outbox = new Outbox(ch, new TransportCounters());
        ByteBuf f = frame(1);
        ch.close();
        outbox.offer(f); // offered by another thread just as the link closed
        ch.runPendingTasks();
        assertEquals(0, f.refCnt());
        assertNull(ch.readOutbound());
    }
}
