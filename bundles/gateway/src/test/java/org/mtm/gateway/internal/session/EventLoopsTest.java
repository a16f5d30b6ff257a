package org.mtm.gateway.internal.session;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/** gateway.threads: 0 is one event loop per core (not Netty's two), a positive number is taken as it is. */
public class EventLoopsTest {
    @Test
    public void zeroIsOnePerCore() {
        assertEquals(Runtime.getRuntime().availableProcessors(), GatewayServer.eventLoops(0));
    }

    @Test
    public void aConfiguredNumberIsKept() {
        assertEquals(3, GatewayServer.eventLoops(3));
        assertEquals(1, GatewayServer.eventLoops(1));
    }
}
