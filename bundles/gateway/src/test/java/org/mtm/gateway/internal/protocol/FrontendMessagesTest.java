package org.mtm.gateway.internal.protocol;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import org.junit.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** The layout checks of frontend messages, in PostgreSQL's words. */
public class FrontendMessagesTest {
    private static String judge(int... bytes) {
        ByteBuf b = Unpooled.buffer(bytes.length, bytes.length);
        for (int x : bytes) {
            b.writeByte(x);
        }
        return FrontendMessages.violation(b, 0, bytes.length);
    }

    @Test
    public void wellFormedMessagesPass() {
        assertNull(judge('Q', 0, 0, 0, 6, 'x', 0));
        assertNull(judge('S', 0, 0, 0, 4));
        assertNull(judge('C', 0, 0, 0, 6, 'S', 0));
        assertNull(judge('E', 0, 0, 0, 9, 0, 0, 0, 0, 0));
        // Bind: portal "", statement "", no formats, one NULL parameter, no result formats
        assertNull(judge('B', 0, 0, 0, 16, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0));
        assertNull(judge('d', 0, 0, 0, 7, 1, 2, 3));
        assertNull(judge('X', 0, 0, 0, 4));
    }

    @Test
    public void malformedMessagesAreNamed() {
        assertEquals("insufficient data left in message (message type 'C')", judge('C', 0, 0, 0, 4));
        assertEquals("invalid string in message (message type 'Q')", judge('Q', 0, 0, 0, 5, 'x'));
        assertEquals("invalid message format: 1 bytes left over in message type 'S'", judge('S', 0, 0, 0, 5, 0));
        assertEquals("invalid DESCRIBE message subtype 88 (message type 'D')", judge('D', 0, 0, 0, 6, 'X', 0));
        assertEquals("insufficient data left in message (message type 'B')",
            judge('B', 0, 0, 0, 16, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 0));
        assertEquals("invalid length -2 of parameter 1 (message type 'B')",
            judge('B', 0, 0, 0, 16, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 0));
        assertEquals("invalid frontend message type 112", judge('p', 0, 0, 0, 4));
        assertEquals("invalid message length", FrontendMessages.violation(Unpooled.buffer(3).writeByte('Q'), 0, 5));
    }
}
