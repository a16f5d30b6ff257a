package org.mtm.gateway.internal.session;

import java.util.function.Consumer;
import java.util.function.Supplier;

import io.netty.buffer.ByteBuf;

/**
 * Bytes relayed unchanged from one direction's input buffer: gathered while they are contiguous, then written
 * as one retained slice of that buffer (zero copy; consecutive relayed messages become one write). A gap, or
 * a moment the gateway must speak itself, flushes what was gathered first, so the order on the wire is kept.
 */
final class ForwardRun {
    private final Supplier<ByteBuf> source;
    private final Consumer<ByteBuf> sink;
    private int start;
    private int length;

    /**
     * @param source the input buffer the indexes refer to, read at flush time (the session's cumulation buffer)
     * @param sink   where the slices go (the other side's channel)
     */
    ForwardRun(Supplier<ByteBuf> source, Consumer<ByteBuf> sink) {
        this.source = source;
        this.sink = sink;
    }

    /** Adds {@code in[index, index + n)} to the run and skips it in {@code in}. */
    void add(ByteBuf in, int index, int n) {
        if (length > 0 && start + length != index) {
            flush();
        }
        if (length == 0) {
            start = index;
        }
        length += n;
        in.skipBytes(n);
    }

    /** Forgets what was gathered without writing it (its buffer was released). */
    void clear() {
        length = 0;
    }

    void flush() {
        if (length > 0) {
            sink.accept(source.get().retainedSlice(start, length));
            length = 0;
        }
    }
}
