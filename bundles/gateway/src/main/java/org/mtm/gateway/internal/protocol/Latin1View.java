package org.mtm.gateway.internal.protocol;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;

/**
 * A zero-copy {@link CharSequence} over bytes of a buffer, one char per byte: what the statement splitter
 * reads. Valid only while the buffer region is (its owner keeps it retained).
 */
public final class Latin1View implements CharSequence {
    private final ByteBuf buf;
    private final int offset;
    private final int length;

    public Latin1View(ByteBuf buf, int offset, int length) {
        this.buf = buf;
        this.offset = offset;
        this.length = length;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public char charAt(int index) {
        return (char) (buf.getByte(offset + index) & 0xFF);
    }

    @Override
    public CharSequence subSequence(int start, int end) {
        return new Latin1View(buf, offset + start, end - start);
    }

    @Override
    public String toString() {
        return buf.toString(offset, length, StandardCharsets.ISO_8859_1);
    }
}
