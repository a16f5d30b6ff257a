package org.mtm.transport.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The frames waiting for one authenticated channel. Any thread {@link #offer}s a frame; one task on the channel's
 * event loop writes every frame queued by then, in order, and flushes once. While that task is scheduled and has not
 * started, further frames only join the queue: no task, no event-loop wake-up, no flush (and with TLS no record) of
 * their own. A channel written to frame by frame with {@code writeAndFlush} from other threads costs one task, one
 * wake-up of the loop and one {@code writev} per frame; a burst (a broadcast to the peers sharing a loop, the votes and
 * precommits of concurrent commits) now costs one of each.
 *
 * <p>Back-pressure is unchanged in kind: frames still queued here count against the link's high water mark
 * ({@link #queuedBytes}) beside the channel's own unsent bytes, so at most twice the mark waits per link. After the
 * channel closes, a drain writes into the closed channel, which releases what it is given; a loop that no longer takes
 * tasks gets the queue released here.
 */
final class Outbox implements Runnable {
    /** Frames written by one drain before it flushes and yields the loop to other channels (then runs again). */
    static final int MAX_FRAMES_PER_DRAIN = 1024;

    private final Channel channel;
    private final TransportCounters counters;
    private final Queue<ByteBuf> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicLong queuedBytes = new AtomicLong();

    Outbox(Channel channel, TransportCounters counters) {
        this.channel = channel;
        this.counters = counters;
    }

    Channel channel() {
        return channel;
    }

    /** Bytes offered and not yet handed to the channel. */
    long queuedBytes() {
        return queuedBytes.get();
    }

    /** Queues {@code frame} (taking ownership of it) and schedules a drain unless one is scheduled already. Any thread. */
    void offer(ByteBuf frame) {
        queuedBytes.addAndGet(frame.readableBytes());
        queue.offer(frame);
        if (scheduled.compareAndSet(false, true)) {
            schedule();
        }
    }

    private void schedule() {
        try {
            channel.eventLoop().execute(this);
        } catch (RejectedExecutionException shuttingDown) {
            // the loop is gone and the channel with it: nothing will be sent
            scheduled.set(false);
            releaseAll();
        }
    }

    /** The drain, on the channel's event loop. */
    @Override
    public void run() {
        // cleared before polling: a frame offered from now on is either polled below or schedules the next drain
        scheduled.set(false);
        int written = 0;
        ByteBuf frame;
        while (written < MAX_FRAMES_PER_DRAIN && (frame = queue.poll()) != null) {
            queuedBytes.addAndGet(-frame.readableBytes());
            channel.write(frame, channel.voidPromise());
            written++;
        }
        if (written == 0) {
            return;
        }
        counters.wrote(written);
        channel.flush();
        if (!queue.isEmpty() && scheduled.compareAndSet(false, true)) {
            schedule();
        }
    }

    private void releaseAll() {
        ByteBuf frame;
        while ((frame = queue.poll()) != null) {
            queuedBytes.addAndGet(-frame.readableBytes());
            frame.release();
        }
    }
}
