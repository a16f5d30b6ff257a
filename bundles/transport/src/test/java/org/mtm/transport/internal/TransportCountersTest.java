package org.mtm.transport.internal;

import static org.junit.Assert.assertEquals;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.Test;

public class TransportCountersTest {

    @Test
    public void countsBytesBothWaysAcrossConnectionsAndLostLinks() {
        TransportCounters counters = new TransportCounters();
        EmbeddedChannel a = new EmbeddedChannel(counters);
        EmbeddedChannel b = new EmbeddedChannel(counters);
        a.writeInbound(Unpooled.wrappedBuffer(new byte[100]));
        b.writeOutbound(Unpooled.wrappedBuffer(new byte[30]));
        a.writeOutbound(Unpooled.wrappedBuffer(new byte[12]));
        counters.linkLost();
        assertEquals(100, counters.bytesReceived());
        assertEquals(42, counters.bytesSent());
        assertEquals(1, counters.reconnects());
        a.finishAndReleaseAll();
        b.finishAndReleaseAll();
    }
}
